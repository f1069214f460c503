"""Dynamic batching and back-pressure over real HTTP calls."""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time

import pytest

from twig_janus.batcher import Batcher, Closed, QueueFull


def wait_until(pred, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_concurrent_calls_queued_behind_a_batch_run_as_one_batch(gated, engine, make_server):
    c = make_server(gated, max_batch=8, max_wait_ms=0)
    reqs = [dict(prefix=f"Prompt {i}.", prior=[i] * i, n=4 + i, seed=i) for i in range(4)]
    with cf.ThreadPoolExecutor(4) as pool:
        first = pool.submit(c.generate, **reqs[0])
        assert gated.entered.wait(20)
        rest = [pool.submit(c.generate, **r) for r in reqs[1:]]
        wait_until(lambda: c.stats()["queued"] == 3)
        gated.release.set()
        answers = [first.result(30)] + [f.result(30) for f in rest]
    assert gated.batches == [1, 3]
    stats = c.stats()
    assert stats["batches"] == 2 and stats["calls"] == 4 and stats["batch_sizes"] == {"1": 1, "3": 1}
    alone = [engine.generate_batch([engine.parse_generate(r)])[0].tokens for r in reqs]
    assert [a["tokens"] for a in answers] == alone


def test_max_wait_gathers_calls_that_arrive_together(engine, make_server):
    # The batch closes when the fifth call arrives; max_wait only has to outlast the stragglers.
    c = make_server(engine, max_batch=5, max_wait_ms=20000)
    start = threading.Barrier(5)

    def call(i):
        start.wait()
        return c.generate(prefix=f"Together {i}.", n=4, seed=i)

    with cf.ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(call, range(5)))
    assert all(len(a["tokens"]) == 4 for a in answers)
    assert c.stats()["batch_sizes"] == {"5": 1}


def test_max_batch_caps_a_batch(gated, make_server):
    c = make_server(gated, max_batch=2, max_wait_ms=0)
    with cf.ThreadPoolExecutor(6) as pool:
        first = pool.submit(c.generate, prefix="first", n=2, seed=0)
        assert gated.entered.wait(20)
        rest = [pool.submit(c.generate, prefix=f"p{i}", n=2, seed=i) for i in range(5)]
        wait_until(lambda: c.stats()["queued"] == 5)
        gated.release.set()
        for f in [first, *rest]:
            assert len(f.result(30)["tokens"]) == 2
    assert gated.batches == [1, 2, 2, 1]


def test_full_queue_answers_503_with_retry_after(gated, make_server):
    c = make_server(gated, max_batch=1, max_wait_ms=0, max_queue=2)
    with cf.ThreadPoolExecutor(3) as pool:
        running = pool.submit(c.generate, prefix="running", n=2, seed=1)
        assert gated.entered.wait(20)
        queued = [pool.submit(c.generate, prefix=f"queued {i}", n=2, seed=i) for i in range(2)]
        wait_until(lambda: c.stats()["queued"] == 2)
        status, headers, body = c.post("/v1/generate", dict(prefix="one too many", n=2, seed=3))
        assert status == 503
        assert headers.get("Retry-After") == "1"
        assert body["error"]["type"] == "overloaded_error"
        assert "queue is full" in body["error"]["message"]
        assert c.stats()["rejected"] == 1
        gated.release.set()
        for f in [running, *queued]:
            assert len(f.result(30)["tokens"]) == 2
    # Once drained, the worker takes calls again.
    assert len(c.generate(prefix="again", n=2, seed=4)["tokens"]) == 2


def test_a_failing_batch_answers_500_and_the_worker_goes_on(engine, make_server):
    class Flaky:
        def __init__(self):
            self.fail = True

        def generate_batch(self, reqs):
            if self.fail:
                self.fail = False
                raise RuntimeError("CUDA out of memory (simulated)")
            return engine.generate_batch(reqs)

        def __getattr__(self, name):
            return getattr(engine, name)

    c = make_server(Flaky())
    status, _, body = c.post("/v1/generate", dict(prefix="x", n=2, seed=1))
    assert status == 500 and body["error"]["type"] == "server_error"
    assert "out of memory" in body["error"]["message"]
    assert len(c.generate(prefix="x", n=2, seed=1)["tokens"]) == 2


def test_loading_worker_answers_503(make_server):
    c = make_server(None)
    for method, path in [("GET", "/healthz"), ("GET", "/v1/info"), ("POST", "/v1/generate")]:
        status, headers, body = c.call(method, path, {"prefix": "x", "n": 1} if method == "POST" else None)
        assert status == 503, path
        assert headers.get("Retry-After") == "10"
        assert body["error"] == {"message": "model is loading", "type": "overloaded_error"}


def test_batcher_unit_per_item_errors_and_close():
    seen = []

    def fn(items):
        seen.append(list(items))
        return [ValueError(f"bad {i}") if i % 2 else i * 10 for i in items]

    b = Batcher(fn, max_batch=4, max_wait=0.2, max_queue=8, name="t")
    futs = [b.submit(i) for i in range(4)]
    assert [f.exception(10) is None for f in futs] == [True, False, True, False]
    assert futs[0].result() == 0 and futs[2].result() == 20
    assert seen == [[0, 1, 2, 3]]
    b.close()
    with pytest.raises(Closed):
        b.submit(5)


def test_batcher_unit_queue_limit():
    gate = threading.Event()
    b = Batcher(lambda items: (gate.wait(10), items)[1], max_batch=1, max_wait=0, max_queue=1, name="t")
    first = b.submit(1)
    wait_until(lambda: b.stats()["running"] == 1)
    second = b.submit(2)
    with pytest.raises(QueueFull):
        b.submit(3)
    gate.set()
    assert first.result(10) == 1 and second.result(10) == 2
    assert b.stats()["rejected"] == 1
    b.close()
