"""The CUDA-graph decode path (decode.py): bucketing and padding on any
device, the padded slab-backed path stepped eagerly ("emulate") on a CPU,
and real graph capture and replay on a GPU (TWIG_JANUS_DEVICE=cuda only)."""

from __future__ import annotations

import logging
import os

import pytest

from twig_janus.decode import graph_layout, item_bucket, length_bucket
from twig_janus.model import GenerateRequest, JanusEngine

DEVICE = os.environ.get("TWIG_JANUS_DEVICE", "cpu").strip() or "cpu"  # as conftest.py

CUDA_ONLY = pytest.mark.skipif(
    not DEVICE.startswith("cuda"),
    reason="CUDA graphs need a CUDA device: run with TWIG_JANUS_DEVICE=cuda (.ci/gpu-check.sh graphs does)")


def test_item_buckets():
    assert [item_bucket(n) for n in (1, 2, 3, 4, 5, 8, 9, 16)] == [1, 2, 4, 4, 8, 8, 16, 16]
    assert [item_bucket(n) for n in (17, 24, 25, 33, 63, 64)] == [24, 24, 32, 40, 64, 64]
    assert [item_bucket(n) for n in (65, 80, 81, 128, 129)] == [80, 80, 96, 128, 144]
    for n in range(1, 300):
        b = item_bucket(n)
        assert b >= n and item_bucket(b) == b  # buckets are fixed points
    with pytest.raises(ValueError):
        item_bucket(0)


def test_length_buckets():
    assert [length_bucket(n) for n in (1, 64, 65, 128, 691)] == [64, 64, 128, 128, 704]
    assert length_bucket(16380, cap=16384) == 16384
    assert length_bucket(100, cap=90) == 128  # a cap below n does not cut it
    assert length_bucket(10, step=8) == 16


def test_graph_layout_pads_with_item_zero_and_adds_unconditional_rows():
    slots, rows, unc = graph_layout(3, True)
    assert slots == 4
    assert rows == [0, 1, 2, 0, 0, 1, 2, 0]
    assert unc == [False] * 4 + [True] * 4
    slots, rows, unc = graph_layout(3, False)
    assert (slots, rows, unc) == (4, [0, 1, 2, 0], [False] * 4)
    assert graph_layout(1, True) == (1, [0, 0], [False, True])


def _mixed_batch(n_items: int, n: int = 6) -> list[GenerateRequest]:
    """Items of different prompt and prior lengths, CFG on and off, greedy,
    top-k and top-p, as the batch-invariance tests use."""
    out = []
    for i in range(n_items):
        out.append(GenerateRequest(
            prefix="a red cat " * (i % 3) + f"item {i}", prior=list(range(1, 1 + (i * 3) % 7)), n=n - (i % 2),
            cfg=(1.0 if i % 4 == 1 else 5.0), temperature=(0.0 if i % 5 == 2 else 1.0),
            top_k=(8 if i % 3 == 2 else 0), top_p=(0.9 if i % 4 == 3 else 1.0), seed=100 + i))
    return out


def _tokens(engine, reqs):
    res = engine.generate_batch(reqs)
    for r in res:
        assert not isinstance(r, Exception), r
    return [r.tokens for r in res]


@pytest.fixture(scope="module")
def emulated(checkpoint):
    return JanusEngine.load(checkpoint, device=DEVICE, dtype="float32", served_model_name="tiny/janus",
                            revision="test", cuda_graphs="emulate")


@pytest.mark.parametrize("n_items", [1, 3, 5])
def test_padded_slab_path_matches_the_eager_path(engine, emulated, n_items):
    reqs = _mixed_batch(n_items)
    assert _tokens(emulated, reqs) == _tokens(engine, reqs)


def test_padded_slab_path_reuses_slots_and_grows_the_slab(engine, emulated):
    g = emulated._graphs
    g.release()
    _tokens(emulated, _mixed_batch(2))
    assert len(g.slots) == 1 and g.capacity > 0
    cap = g.capacity
    _tokens(emulated, _mixed_batch(2))  # the same shape: the same slot
    assert len(g.slots) == 1 and g.capacity == cap
    reqs = _mixed_batch(7)  # more rows: a bigger slab, the old slots dropped
    assert _tokens(emulated, reqs) == _tokens(engine, reqs)
    assert g.capacity > cap and len(g.slots) == 1
    # A smaller batch after a bigger one fits the slab: no regrowth.
    cap = g.capacity
    _tokens(emulated, _mixed_batch(1))
    assert g.capacity == cap and len(g.slots) == 2


def test_single_token_and_cfg_one_only_batches(engine, emulated):
    reqs = [GenerateRequest(prefix="x", n=1, cfg=1.0, seed=3), GenerateRequest(prefix="yy", n=1, cfg=1.0, seed=4)]
    assert _tokens(emulated, reqs) == _tokens(engine, reqs)


def test_cuda_graphs_on_a_cpu_falls_back_with_a_log_line(checkpoint, caplog):
    if DEVICE.startswith("cuda"):
        pytest.skip("on a GPU the flag captures graphs (tested below)")
    with caplog.at_level(logging.WARNING, logger="twig_janus"):
        eng = JanusEngine.load(checkpoint, device="cpu", dtype="float32", cuda_graphs=True)
    assert not eng.cuda_graphs and eng.graph_stats() is None
    assert "cuda graphs need a CUDA device" in caplog.text
    assert len(_tokens(eng, _mixed_batch(2))) == 2


# ------------------------------------------------------------------ on a GPU


@pytest.fixture(scope="module")
def graphed(checkpoint):
    return JanusEngine.load(checkpoint, device=DEVICE, dtype="float32", served_model_name="tiny/janus",
                            revision="test", cuda_graphs=True)


@CUDA_ONLY
@pytest.mark.parametrize("n_items", [1, 2, 3, 5, 9])
def test_cuda_graph_tokens_equal_eager_tokens(engine, graphed, n_items):
    """Exact equality, in float32 with TF32 off (conftest). Padding changes
    the matrix shapes, which could in principle move a logit in its last bits
    and flip a token at a probability boundary: a failure here says how many
    tokens differ, and whether that is what happened."""
    assert graphed.cuda_graphs, graphed.graph_stats()
    reqs = _mixed_batch(n_items)
    got, want = _tokens(graphed, reqs), _tokens(engine, reqs)
    diff = sum(a != b for ga, wa in zip(got, want) for a, b in zip(ga, wa))
    assert got == want, f"{diff} of {sum(len(w) for w in want)} tokens differ"


@CUDA_ONLY
def test_cuda_graphs_are_reused_across_calls(engine, graphed):
    reqs = _mixed_batch(3)
    _tokens(graphed, reqs)
    before = graphed.graph_stats()
    for _ in range(2):
        assert _tokens(graphed, reqs) == _tokens(engine, reqs)
    after = graphed.graph_stats()
    assert after["captures"] == before["captures"], (before, after)
    assert after["replays"] > before["replays"] and not after["disabled"]


@CUDA_ONLY
def test_cuda_graphs_full_grid_and_concurrent_codec(engine, graphed):
    """A whole grid in one call, while decode batches run on the codec thread."""
    import threading

    n = graphed.num_tokens
    reqs = [GenerateRequest(prefix=f"p{i}", n=n, seed=i) for i in range(4)]
    errors = []

    def codec():
        try:
            for _ in range(5):
                graphed.decode_batch([[0] * n, list(range(n))])
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=codec)
    graphed._graphs.release()  # forces a capture while the codec runs
    t.start()
    got = _tokens(graphed, reqs)
    t.join()
    assert not errors, errors
    assert got == _tokens(engine, reqs)
