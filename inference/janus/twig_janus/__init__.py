"""twig's reference GPU worker: Janus-Pro behind the worker protocol v1.

See README.md beside this package and docs/worker-protocol.md in the twig
repository. Modules: `model` (the engine on transformers), `batcher` (dynamic
batching), `server` (the HTTP protocol), `tiny` (a tiny random model for tests).
"""

__version__ = "0.1.0"
