"""Names shared by the engine, the server and the CLI (no torch import here)."""

import math


class RequestError(ValueError):
    """The request is wrong and will fail again: answered with 400."""


def number_field(body, name, default, lo=None, hi=None) -> float:
    """A finite number of a JSON request body, in [lo, hi]; raises RequestError."""
    v = body.get(name, default)
    if v is None:
        v = default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise RequestError(f"{name} must be a finite number, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise RequestError(f"{name} {v} is outside [{lo},{'inf' if hi is None else hi}]")
    return float(v)


def integer_field(body, name, default, lo=None) -> int:
    """An integer of a JSON request body, at least lo; raises RequestError."""
    v = body.get(name, default)
    if v is None:
        v = default
    if isinstance(v, bool) or not isinstance(v, int):
        raise RequestError(f"{name} must be an integer, got {v!r}")
    if lo is not None and v < lo:
        raise RequestError(f"{name} {v} must be >= {lo}")
    return v


# The reference code's generation prompt; {prefix} is the text of the call
# and the tokenizer's `<begin_of_image>` token is appended to it.
DEFAULT_PROMPT_TEMPLATE = "User: {prefix}\n\nAssistant:"

# The --model name that serves tiny.py's random model instead of a checkpoint.
TINY_MODEL = "tiny-random"

# --model names starting with this build a full-size Janus-Pro architecture
# with random weights on the device (random_model.py), e.g. random:janus-pro-7b.
RANDOM_PREFIX = "random:"
