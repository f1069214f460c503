"""Janus-Pro architectures at full size with random weights, built on the device.

`--model random:janus-pro-7b` (or `random:janus-pro-1b`) builds a
`JanusForConditionalGeneration` with the real architecture of Janus-Pro --
the numbers transformers' conversion script
(`models/janus/convert_janus_weights_to_hf.py`) puts into the `JanusConfig` of
`deepseek-community/Janus-Pro-7B` / `-1B` -- but random weights, directly on
the device in the model dtype: nothing is downloaded. The worker's speed does
not depend on the weight values (every call paints a fixed number of tokens:
no early stop), so the benchmark and the server measure the real model's speed
on a machine without the weights or without network. The images are noise.

The tokenizer is `tiny.py`'s byte-level one (every UTF-8 byte is one token,
plus Janus's special tokens; all its ids lie inside the 102,400-entry
vocabulary). It turns a text into more tokens than Janus's BPE tokenizer
(about 4 to 5 times as many for English), so the same prefix text costs a
longer prefill here; `bench` sizes its prefixes in tokens to compare like
with like.

Answers name the model `random:janus-pro-7b@random` so that nobody takes them
for the real model's.

Overrides after the name, comma-separated, shrink the architecture (for tests
on a CPU): `random:janus-pro-7b,layers=2,hidden=64,heads=4,intermediate=128,
vision_layers=1,vq_channels=32`. The image geometry (384 px, 24x24 = 576
tokens, codebook of 16,384) never changes.
"""

from __future__ import annotations

from .common import RANDOM_PREFIX as PREFIX

# The language model (a Llama: DeepSeek-LLM), from the original checkpoints'
# language_config; the aligners and the generation head are as wide as it.
ARCHITECTURES = {
    "janus-pro-7b": {"hidden": 4096, "layers": 30, "heads": 32, "kv_heads": 32, "intermediate": 11008},
    "janus-pro-1b": {"hidden": 2048, "layers": 24, "heads": 16, "kv_heads": 16, "intermediate": 5632},
}
VOCAB_SIZE = 102400
MAX_POSITIONS = 16384
IMAGE_SIZE = 384          # SigLIP-L/16 at 384 px for understanding; the VQ-16 for generation
PATCH_SIZE = 16           # VQ-16: five resolution levels, 16x downsampling -> 24x24 tokens
CODEBOOK_SIZE = 16384     # gen_vision_config.image_token_size
CODEBOOK_DIM = 8          # gen_vision_config.n_embed

# Overrides (integers) a spec may carry after the architecture name.
OVERRIDES = ("layers", "hidden", "heads", "intermediate", "vision_layers", "vq_channels", "seed")


def is_random(model_id: str) -> bool:
    return isinstance(model_id, str) and model_id.startswith(PREFIX)


def parse(model_id: str) -> tuple[str, dict]:
    """'random:janus-pro-7b,layers=2' -> ('janus-pro-7b', {'layers': 2})."""
    if not is_random(model_id):
        raise ValueError(f"{model_id!r} is not a {PREFIX}... model")
    arch, *opts = model_id[len(PREFIX):].split(",")
    arch = arch.strip().lower()
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown random architecture {arch!r}: use one of "
                         + ", ".join(PREFIX + a for a in ARCHITECTURES))
    overrides = {}
    for opt in opts:
        key, sep, value = opt.partition("=")
        key = key.strip()
        if not sep or key not in OVERRIDES:
            raise ValueError(f"bad override {opt!r} in {model_id!r}: use KEY=INT with KEY one of "
                             + ", ".join(OVERRIDES))
        try:
            overrides[key] = int(value)
        except ValueError:
            raise ValueError(f"override {key} wants an integer, got {value!r}") from None
        if overrides[key] < (0 if key == "seed" else 1):
            raise ValueError(f"override {key}={overrides[key]} is out of range")
    return arch, overrides


def canonical_name(arch: str, overrides: dict) -> str:
    opts = "".join(f",{k}={overrides[k]}" for k in OVERRIDES if k in overrides)
    return f"{PREFIX}{arch}{opts}"


def build_config(arch: str, tokenizer, **overrides):
    """The JanusConfig of a Janus-Pro architecture (transformers' config classes)."""
    from transformers import JanusConfig, JanusVisionConfig, JanusVQVAEConfig, LlamaConfig

    a = dict(ARCHITECTURES[arch])
    for key in ("layers", "hidden", "heads", "intermediate"):
        if key in overrides:
            a[key] = overrides[key]
    if "heads" in overrides:
        a["kv_heads"] = overrides["heads"]
    if a["hidden"] % a["heads"]:
        raise ValueError(f"hidden {a['hidden']} is not a multiple of heads {a['heads']}")
    hidden = a["hidden"]
    text = LlamaConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=hidden,
        intermediate_size=a["intermediate"],
        num_hidden_layers=a["layers"],
        num_attention_heads=a["heads"],
        num_key_value_heads=a["kv_heads"],
        hidden_act="silu",
        max_position_embeddings=MAX_POSITIONS,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    # SigLIP-L/16 (JanusVisionConfig's defaults: width 1024, 24 layers, 16
    # heads); the understanding aligner maps it to the language model's width.
    vision_kwargs = {"image_size": IMAGE_SIZE, "patch_size": PATCH_SIZE, "projection_dim": hidden, "depth": 2}
    if "vision_layers" in overrides:
        vision_kwargs["num_hidden_layers"] = overrides["vision_layers"]
    vision = JanusVisionConfig(**vision_kwargs)
    # VQ-16 (JanusVQVAEConfig's defaults: base 128 channels x (1, 1, 2, 2, 4),
    # 2 res blocks, 256 latent channels); the generation aligner (embed_dim ->
    # hidden, 2 layers: the default) and the head (hidden -> hidden -> codebook).
    vq_kwargs = {"embed_dim": CODEBOOK_DIM, "num_embeddings": CODEBOOK_SIZE, "projection_dim": hidden,
                 "image_token_embed_dim": hidden}
    if "vq_channels" in overrides:
        vq_kwargs["base_channels"] = overrides["vq_channels"]
        vq_kwargs["latent_channels"] = 2 * overrides["vq_channels"]
    vq = JanusVQVAEConfig(**vq_kwargs)
    # DeepSeek-LLM keeps a separate lm_head (the checkpoints hold 7.4B / 2.1B
    # parameters); it is not used for image tokens but takes its memory.
    return JanusConfig(text_config=text, vision_config=vision, vq_config=vq,
                       image_token_id=tokenizer.convert_tokens_to_ids("<image_placeholder>"),
                       tie_word_embeddings=False)


def build(model_id: str, *, device, dtype, attn_implementation: str | None = None):
    """Builds the random model on the device: returns (model, tokenizer, name).

    The weights are created on the device in dtype and initialised there by
    transformers' own initialisation (fast on a GPU: no CPU copy of 7B
    parameters)."""
    from . import tiny

    arch, overrides = parse(model_id)
    tokenizer = tiny.build_tokenizer()
    config = build_config(arch, tokenizer, **overrides)
    model = build_model(config, device=device, dtype=dtype, seed=overrides.get("seed", 0),
                        attn_implementation=attn_implementation)
    return model, tokenizer, canonical_name(arch, overrides)


def build_model(config, *, device, dtype, seed: int = 0, attn_implementation: str | None = None):
    import torch
    from transformers import JanusForConditionalGeneration

    device = torch.device(device)
    torch.manual_seed(seed)
    kwargs = {"dtype": dtype}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    with torch.device(device):
        model = JanusForConditionalGeneration._from_config(config, **kwargs)
    model.eval()
    if device.type != "meta":
        # Every weight must hold a number: a parameter an initialiser skipped
        # would hold whatever the allocator left there (NaN on a GPU, possibly).
        with torch.no_grad():
            for p in model.parameters():
                if not bool(torch.isfinite(p).all()):
                    p.normal_(0.0, 0.02)
    return model


def parameter_count(model) -> int:
    """Distinct parameters (tied ones once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
