"""twig's reference GPU worker: Janus-Pro behind the worker protocol v1.

See README.md beside this package and docs/worker-protocol.md in the twig
repository. Modules: `model` (the engine on transformers), `decode` (the decode
loop's state and the CUDA-graph decoder), `batcher` (dynamic
batching), `server` (the HTTP protocol), `tiny` (a tiny random model for tests),
`random_model` (the full-size Janus-Pro architectures with random weights, for
speed tests without the weights), `bench` (engine throughput) and `loadtest`
(end-to-end throughput over HTTP).
"""

__version__ = "0.1.0"
