#!/usr/bin/env python3
"""Independent reader of a twig dataset version, used by the end-to-end tests.

Usage: check_version.py VERSION_DIR

Reads every shard the manifest lists with pyarrow (not with twig's own Go
reader), checks the column types Hugging Face relies on, decodes every image
with Pillow, and prints one JSON object of figures for the Go test to assert on.
"""
import io
import json
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image


def main(root):
    manifest = json.load(open(os.path.join(root, "manifest.json")))
    out = {"configs": {}, "images": 0, "regions": 0, "repainted_regions": 0,
           "critiques": 0, "scores": [], "thoughts_per_row": [], "errors": [], "tasks": {}}
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    for config, shards in sorted(manifest["shards"].items()):
        if config == "webdataset":
            continue  # tars: check_datasets.py reads them with the webdataset library
        rows = 0
        for shard in shards:
            table = pq.read_table(os.path.join(root, shard["path"]))
            rows += table.num_rows
            if config == "failed":
                continue
            if config == "sft":
                for row in table.to_pylist():
                    out["tasks"][row["task"]] = out["tasks"].get(row["task"], 0) + 1
                    if [m["role"] for m in row["messages"]] != ["user", "assistant"]:
                        out["errors"].append(f"{row['id']}: messages {row['messages']}")
                    for im in row["images"]:
                        Image.open(io.BytesIO(im["bytes"])).load()
                    if row["kind"] == "gen" and len(row["target_tokens"]) == 0:
                        out["errors"].append(f"{row['id']}: gen sample without target tokens")
                continue
            if table.schema.field("final_image").type != image_type:
                out["errors"].append(f"{shard['path']}: final_image is {table.schema.field('final_image').type}")
            for row in table.to_pylist():
                img = Image.open(io.BytesIO(row["final_image"]["bytes"]))
                img.load()
                if img.format != "PNG" or img.size != (row["schedule"]["image_size"],) * 2:
                    out["errors"].append(f"{row['id']}: final image {img.format} {img.size}")
                out["images"] += 1
                thoughts = 0
                for region in row["regions"]:
                    out["regions"] += 1
                    thoughts += 1 if region["thought"]["text"] else 0
                    if len(region["attempts"]) > 1:
                        out["repainted_regions"] += 1
                    for attempt in region["attempts"]:
                        Image.open(io.BytesIO(attempt["canvas"]["bytes"])).load()
                        out["images"] += 1
                        score = attempt["critique"]["score"]
                        if attempt["critiqued"]:
                            out["critiques"] += 1
                            if score is not None:  # null: the critique could not be read
                                out["scores"].append(score)
                        elif score is not None:
                            out["errors"].append(f"{config} row {row['id']}: an attempt that was not critiqued has score {score}, want null")
                        if score is not None and not 0 <= score <= 100:
                            out["errors"].append(f"{config} row {row['id']}: score {score} outside 0..100")
                out["thoughts_per_row"].append(thoughts)
        out["configs"][config] = rows
    out["thoughts_per_row"] = sorted(set(out["thoughts_per_row"]))
    out["scores"] = [min(out["scores"], default=None), max(out["scores"], default=None)]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
