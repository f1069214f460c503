"""Names shared by the engine, the server and the CLI (no torch import here)."""


class RequestError(ValueError):
    """The request is wrong and will fail again: answered with 400."""


# The reference code's generation prompt; {prefix} is the text of the call
# and the tokenizer's `<begin_of_image>` token is appended to it.
DEFAULT_PROMPT_TEMPLATE = "User: {prefix}\n\nAssistant:"

# The --model name that serves tiny.py's random model instead of a checkpoint.
TINY_MODEL = "tiny-random"
