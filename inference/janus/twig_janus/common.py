"""Names shared by the engine, the server and the CLI (no torch import here)."""


class RequestError(ValueError):
    """The request is wrong and will fail again: answered with 400."""


# The reference code's generation prompt; {prefix} is the text of the call
# and the tokenizer's `<begin_of_image>` token is appended to it.
DEFAULT_PROMPT_TEMPLATE = "User: {prefix}\n\nAssistant:"

# The --model name that serves tiny.py's random model instead of a checkpoint.
TINY_MODEL = "tiny-random"

# --model names starting with this build a full-size Janus-Pro architecture
# with random weights on the device (random_model.py), e.g. random:janus-pro-7b.
RANDOM_PREFIX = "random:"
