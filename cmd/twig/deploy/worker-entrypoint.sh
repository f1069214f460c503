#!/bin/sh
# Starts the Janus GPU worker on 127.0.0.1:8420, then Beam's boot (the Go SDK harness).
/opt/twig/venv/bin/python -m twig_janus --listen 127.0.0.1:8420 --model "${TWIG_JANUS_MODEL:-deepseek-community/Janus-Pro-7B}" --max-batch 64 &
exec /opt/apache/beam/boot "$@"
