# A Beam Go SDK container with the Python Janus GPU worker beside the harness,
# for GPUs on the Dataflow workers themselves (docs/dataflow.md). Not built in CI.
FROM apache/beam_go_sdk:2.77.0
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv && rm -rf /var/lib/apt/lists/*
COPY inference/janus /opt/twig/janus
RUN python3 -m venv /opt/twig/venv && /opt/twig/venv/bin/pip install --no-cache-dir /opt/twig/janus
COPY cmd/twig/deploy/worker-entrypoint.sh /opt/twig/entrypoint.sh
ENTRYPOINT ["/opt/twig/entrypoint.sh"]
