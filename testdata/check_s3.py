#!/usr/bin/env python3
"""Reads a twig dataset version straight from an S3 server with pyarrow.

Usage: check_s3.py ENDPOINT BUCKET/PREFIX/DATASET/VERSION

Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Reads the
manifest, opens every listed shard over S3, compares row counts, and decodes
the first image of each trajectory shard. Prints one JSON object.
"""
import io
import json
import os
import sys
from urllib.parse import urlparse

import pyarrow.fs as pafs
import pyarrow.parquet as pq
from PIL import Image


def main(endpoint, root):
    u = urlparse(endpoint)
    fs = pafs.S3FileSystem(access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                           endpoint_override=u.netloc, scheme=u.scheme, region="us-east-1")
    with fs.open_input_stream(root + "/manifest.json") as f:
        manifest = json.load(f)
    out = {"configs": {}, "errors": []}
    for config, shards in sorted(manifest["shards"].items()):
        if config == "webdataset":
            continue  # tars, not Parquet: check_datasets.py reads them
        rows = 0
        for shard in shards:
            table = pq.read_table(root + "/" + shard["path"], filesystem=fs)
            rows += table.num_rows
            if config in ("trajectories", "rejected") and table.num_rows:
                img = table.column("final_image")[0].as_py()
                Image.open(io.BytesIO(img["bytes"])).load()
        out["configs"][config] = rows
        want = sum(s["rows"] for s in shards)
        if rows != want:
            out["errors"].append(f"{config}: {rows} rows over S3, manifest says {want}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
