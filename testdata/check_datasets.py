#!/usr/bin/env python3
"""Loads every config of a twig dataset version with Hugging Face `datasets`.

Usage: check_datasets.py VERSION            (a local folder)
       check_datasets.py s3://BUCKET/PREFIX  (over S3, with s3fs; endpoint in
                                              AWS_ENDPOINT_URL, credentials in
                                              AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)

From a folder it uses `load_dataset(folder, config)`, which reads the configs
from the dataset card's YAML front matter; over S3 it reads the card and the
manifest with s3fs and gives `load_dataset("parquet", data_files=...,
storage_options=...)` each config's s3:// shards. Either way it compares row
counts with the manifest, checks that images come back as Image features and
decodes one. WebDataset tars (config "webdataset") are streamed with the
`webdataset` library and every .png decoded. Prints one JSON object. Run
offline: HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1.
"""
import io
import json
import os
import sys

import datasets


def card_configs(card):
    """The configs of the card's YAML front matter: name -> (data_files glob, Features)."""
    import yaml

    front = card.split("---\n")[1]
    meta = yaml.safe_load(front)
    info = {i["config_name"]: i for i in meta.get("dataset_info", [])}
    out = {}
    for c in meta.get("configs", []):
        name = c["config_name"]
        features = datasets.DatasetInfo._from_yaml_dict(info[name]).features if name in info else None
        out[name] = (c["data_files"][0]["path"], features)
    return out


def check_rows(out, config, ds, want):
    out["configs"][config] = len(ds)
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


def check_webdataset(out, urls, want, accepted_ids):
    import webdataset as wds
    from PIL import Image

    n = 0
    for sample in wds.WebDataset(urls, shardshuffle=False, empty_check=False):
        n += 1
        img = Image.open(io.BytesIO(sample["png"]))
        img.load()
        rec = json.loads(sample["json"])
        if rec["id"] != sample["__key__"]:
            out["errors"].append(f"webdataset: key {sample['__key__']} holds record {rec['id']}")
        if accepted_ids is not None and rec["id"] not in accepted_ids:
            out["errors"].append(f"webdataset: {rec['id']} is not an accepted trajectory")
    out["configs"]["webdataset"] = n
    if n != want:
        out["errors"].append(f"webdataset: {n} samples, manifest says {want}")


def main(root):
    out = {"configs": {}, "errors": []}
    if root.startswith("s3://"):
        import s3fs

        endpoint = os.environ["AWS_ENDPOINT_URL"]
        opts = {"key": os.environ["AWS_ACCESS_KEY_ID"], "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
                "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
        fs = s3fs.S3FileSystem(**opts)
        base = root[len("s3://"):].rstrip("/")
        manifest = json.loads(fs.cat(base + "/manifest.json"))
        globs = card_configs(fs.cat(base + "/README.md").decode())
        for config, shards in sorted(manifest["shards"].items()):
            want = sum(s["rows"] for s in shards)
            if config == "webdataset":
                # webdataset opens URLs itself; hand it the objects' bytes through s3fs.
                local = []
                tmp = os.environ.get("TMPDIR", "/tmp")
                for s in shards:
                    dst = os.path.join(tmp, "twig-wds-" + os.path.basename(s["path"]))
                    fs.get(base + "/" + s["path"], dst)
                    local.append(dst)
                check_webdataset(out, local, want, None)
                continue
            if config not in globs:
                out["errors"].append(f"{config}: the card declares no such config")
                continue
            files = ["s3://" + base + "/" + s["path"] for s in shards]
            # The card's features, as load_dataset(folder, config) would use them.
            ds = datasets.load_dataset("parquet", data_files={"train": files}, split="train", storage_options=opts,
                                       features=globs[config][1])
            check_rows(out, config, ds, want)
        json.dump(out, sys.stdout)
        return

    manifest = json.load(open(os.path.join(root, "manifest.json")))
    accepted = None
    for config, shards in sorted(manifest["shards"].items()):
        want = sum(s["rows"] for s in shards)
        if config == "webdataset":
            check_webdataset(out, [os.path.join(root, s["path"]) for s in shards], want, accepted)
            continue
        ds = datasets.load_dataset(root, config, split="train")
        check_rows(out, config, ds, want)
        if config == "trajectories":
            accepted = set(ds["id"])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    datasets.logging.disable_progress_bar()
    main(sys.argv[1])
