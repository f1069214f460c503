#!/usr/bin/env bash
# Installs Debian's chromium for the audit report's headless-browser test
# (exporters/report TestBrowser), unless a Chromium is already on PATH.
set -euo pipefail
for b in chromium chromium-browser google-chrome headless-shell; do
  if command -v "$b" >/dev/null 2>&1; then
    echo "chromium: $(command -v "$b")"; exit 0
  fi
done
sudo=""
if [ "$(id -u)" != "0" ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "chromium: $(command -v chromium)"
