"""Fixtures: a tiny random Janus checkpoint written to disk and loaded back
through the production loading path, and real HTTP servers on loopback.

TWIG_JANUS_DEVICE picks the device the engines run on: cpu (the default, as
in CI) or cuda / cuda:N, to run the same suite on a GPU (.ci/gpu-check.sh).
The tiny model stays in float32 there too (with TF32 off), so the tests that
compare tokens exactly still compare like with like.

On a CPU the tests run torch on one thread (unless OMP_NUM_THREADS says
otherwise): the tiny model's operations are too small to gain from more,
and torch's spinning worker threads slow down many times over when other
work shares a small machine's cores."""

from __future__ import annotations

import http.client
import json
import os
import threading

import pytest
import torch

from twig_janus import server, tiny
from twig_janus.model import JanusEngine

DEVICE = os.environ.get("TWIG_JANUS_DEVICE", "cpu").strip() or "cpu"
if DEVICE == "cpu" and "OMP_NUM_THREADS" not in os.environ:
    os.environ["OMP_NUM_THREADS"] = "1"  # for the worker processes the tests start, too
    torch.set_num_threads(1)
if DEVICE.startswith("cuda"):
    if not torch.cuda.is_available():
        raise pytest.UsageError(f"TWIG_JANUS_DEVICE={DEVICE} but torch {torch.__version__} sees no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def pytest_report_header(config):
    extra = f" ({torch.cuda.get_device_name(0)})" if DEVICE.startswith("cuda") else ""
    return f"twig_janus tests on device {DEVICE}{extra}"


@pytest.fixture(scope="session")
def device() -> str:
    return DEVICE


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    """A tiny JanusForConditionalGeneration + byte-level tokenizer, saved
    with save_pretrained like a hub checkpoint."""
    return tiny.save_tiny(str(tmp_path_factory.mktemp("tiny-janus")), seed=1234)


@pytest.fixture(scope="session")
def engine(checkpoint):
    return JanusEngine.load(checkpoint, device=DEVICE, dtype="float32", served_model_name="tiny/janus",
                            revision="test")


class Client:
    def __init__(self, srv: server.Server):
        self.host, self.port = srv.address
        self.srv = srv

    def call(self, method: str, path: str, body=None, raw: bytes | None = None, headers=None):
        """Returns (status, headers, parsed JSON body)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
            conn.request(method, path, body=data, headers=headers or {})
            resp = conn.getresponse()
            payload = resp.read()
            return resp.status, dict(resp.getheaders()), json.loads(payload) if payload else None
        finally:
            conn.close()

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def get(self, path):
        return self.call("GET", path)

    def generate(self, **req):
        status, _, body = self.post("/v1/generate", req)
        assert status == 200, body
        return body

    def stats(self):
        return self.get("/v1/stats")[2]


@pytest.fixture
def make_server():
    """Starts servers for an engine with given Worker options; closes them after the test."""
    started = []

    def make(eng, **opts):
        worker = server.Worker(**opts)
        if eng is not None:
            worker.set_engine(eng)
        srv = server.Server(worker, "127.0.0.1", 0).start()
        started.append(srv)
        return Client(srv)

    yield make
    for srv in started:
        srv.close()


@pytest.fixture
def client(engine, make_server):
    return make_server(engine)


class GatedEngine:
    """Wraps an engine: every generate batch waits for `release` (so tests can
    pile calls up behind a running batch) and is recorded in `batches`."""

    def __init__(self, engine):
        self._engine = engine
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches: list[int] = []

    def generate_batch(self, reqs):
        self.batches.append(len(reqs))
        self.entered.set()
        assert self.release.wait(60), "test never released the gate"
        return self._engine.generate_batch(reqs)

    def __getattr__(self, name):
        return getattr(self._engine, name)


@pytest.fixture
def gated(engine):
    g = GatedEngine(engine)
    yield g
    g.release.set()
