#!/usr/bin/env python3
"""Loads every config of a twig dataset version with Hugging Face `datasets`.

Usage: check_datasets.py VERSION_DIR

Uses `load_dataset(folder, config)`, which reads the configs from the dataset
card's YAML front matter, compares row counts with the manifest, checks that
images come back as Image features and decodes one. Prints one JSON object.
Run offline: HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1.
"""
import json
import os
import sys

import datasets


def main(root):
    manifest = json.load(open(os.path.join(root, "manifest.json")))
    out = {"configs": {}, "errors": []}
    for config, shards in sorted(manifest["shards"].items()):
        ds = datasets.load_dataset(root, config, split="train")
        out["configs"][config] = len(ds)
        want = sum(s["rows"] for s in shards)
        if len(ds) != want:
            out["errors"].append(f"{config}: {len(ds)} rows, manifest says {want}")
        if config in ("trajectories", "rejected") and len(ds):
            if not isinstance(ds.features["final_image"], datasets.Image):
                out["errors"].append(f"{config}: final_image is {ds.features['final_image']}")
            img = ds[0]["final_image"]
            if img.size != (ds[0]["schedule"]["image_size"],) * 2:
                out["errors"].append(f"{config}: final image {img.size}")
        if config == "sft" and len(ds):
            row = next((r for r in ds if r["images"]), None)
            if row is None or row["images"][0].size[0] == 0:
                out["errors"].append("sft: no sample with a decodable image")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    datasets.logging.disable_progress_bar()
    main(sys.argv[1])
