"""The sampler: inverse-CDF sampling with per-row uniforms, temperature,
top-k and top-p."""

from __future__ import annotations

import torch

from twig_janus.model import sample


def run(logits, u, temp=1.0, k=0, p=1.0):
    logits = torch.as_tensor(logits, dtype=torch.float32)[None]
    return int(sample(logits, torch.tensor([temp]), torch.tensor([k]), torch.tensor([p]),
                      torch.tensor([u], dtype=torch.float64)))


def test_inverse_cdf_picks_by_cumulative_probability():
    logits = torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4]))
    assert [run(logits, u) for u in (0.0, 0.05, 0.15, 0.29, 0.31, 0.59, 0.61, 0.999)] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_temperature_zero_is_argmax():
    assert run([0.0, 3.0, 1.0], 0.0, temp=0.0) == 1
    assert run([0.0, 3.0, 1.0], 0.999, temp=0.0) == 1


def test_top_k_and_top_p_restrict_the_support():
    logits = torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4]))
    assert {run(logits, u / 100, k=2) for u in range(100)} == {2, 3}
    # top_p 0.5: 3 (0.4) alone is under 0.5, so 2 (0.3) joins; 1 and 0 are cut.
    assert {run(logits, u / 100, p=0.5) for u in range(100)} == {2, 3}
    assert {run(logits, u / 100, p=0.4) for u in range(100)} == {3}
    assert {run(logits, u / 100, k=3, p=1.0) for u in range(100)} == {1, 2, 3}


def test_rows_are_independent():
    logits = torch.log(torch.tensor([[0.5, 0.5], [0.5, 0.5], [0.9, 0.1]]))
    out = sample(logits, torch.tensor([1.0, 1.0, 0.0]), torch.tensor([0, 0, 0]), torch.tensor([1.0, 1.0, 1.0]),
                 torch.tensor([0.1, 0.9, 0.9], dtype=torch.float64))
    assert out.tolist() == [0, 1, 0]


def test_sampling_frequencies_follow_the_distribution():
    g = torch.Generator().manual_seed(0)
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    n = 20000
    logits = torch.log(probs).expand(n, 4)
    u = torch.rand(n, generator=g, dtype=torch.float64)
    out = sample(logits, torch.ones(n), torch.zeros(n, dtype=torch.long), torch.ones(n), u)
    freq = torch.bincount(out, minlength=4).double() / n
    assert torch.allclose(freq, probs.double(), atol=0.015)
