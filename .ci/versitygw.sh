#!/usr/bin/env bash
# Installs versitygw, the S3-compatible server the S3 tests start on
# 127.0.0.1 (internal/s3test), into $(go env GOPATH)/bin unless it is
# already there, and prints its path. From scratch the install downloads
# and builds versitygw in about a minute; afterwards this script is instant.
set -euo pipefail
version=v1.8.0
bin="$(go env GOPATH)/bin/versitygw"
if [ ! -x "$bin" ]; then
  echo "== versitygw: installing $version" >&2
  t0=$SECONDS
  go install "github.com/versity/versitygw/cmd/versitygw@$version"
  echo "== versitygw: installed in $((SECONDS - t0))s" >&2
fi
echo "$bin"
