"""A tiny, randomly initialised Janus model and a local tokenizer.

Nothing here is downloaded: the tokenizer is a byte-level tokenizer built in
memory with the `tokenizers` library (every UTF-8 byte is one token, plus the
special tokens Janus uses for image generation), and the model is a
`JanusForConditionalGeneration` built from a `JanusConfig` with tiny sizes but
the real architecture: a Llama language model, the SigLIP-style vision
encoder, the VQ-VAE with its five resolution levels (16x downsampling, as in
Janus-Pro), the generation embeddings, aligner and head.

The tests use it to exercise the real generation, decode and encode code
paths on a CPU, and `python -m twig_janus --model tiny-random` serves it, so
that clients of the worker protocol can be tested against the real server
without a GPU or weights. Its images are noise: the weights are random.

Its text head (`lm_head`, kept apart from the input embeddings as in
Janus-Pro) is random too, except three rows set so that a greedy answer in
understanding mode (POST /v1/chat/completions) is CHAT_ANSWER ("ok") and then
the end-of-sentence token, whatever the question: this 2-layer model's last
hidden state is almost a function of the last input token (cosine about
0.95 to 0.98 across contexts), and every chat prompt ends with
"<|Assistant|>:". A client (twig's thinker and critic) then gets a short,
finished answer instead of max_tokens of random bytes. Sampled answers stay
random bytes (those rows lift one logit by 1.5 over a flat distribution).
"""

from __future__ import annotations

import os

BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"
PAD = "<｜▁pad▁｜>"
BOI = "<begin_of_image>"
EOI = "<end_of_image>"
IMAGE = "<image_placeholder>"

# The greedy chat answer of the tiny model (distinct bytes: each one is the
# next one's only cue).
CHAT_ANSWER = "ok"

# Tiny geometry: 64 px images in 16 px patches, a 4x4 grid of 16 tokens.
TINY_IMAGE_SIZE = 64
TINY_PATCH_SIZE = 16
TINY_CODEBOOK = 64


def build_tokenizer(pad: str | None = PAD):
    """A byte-level tokenizer (no merges) with Janus's special tokens.

    It adds the BOS token in front of every encoded text, like Janus's
    tokenizer, and knows `<begin_of_image>` as the `boi_token`. Its pad token
    is `pad`: by default DeepSeek's `<｜▁pad▁｜>`, the token the reference code
    pads CFG's unconditional row with. Tests pass another token to build a
    tokenizer that lacks it, or None for one with no pad token at all.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    byte_chars = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(byte_chars))}
    specials = [BOS, EOS] + ([pad] if pad is not None else []) + [BOI, EOI, IMAGE]
    for tok in specials:
        vocab[tok] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, vocab[BOS])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=pad,
        extra_special_tokens={"boi_token": BOI, "eoi_token": EOI, "image_token": IMAGE},
    )


def build_model(tokenizer=None, seed: int = 0):
    """A randomly initialised tiny JanusForConditionalGeneration (float32)."""
    import torch
    from transformers import JanusConfig, JanusForConditionalGeneration

    if tokenizer is None:
        tokenizer = build_tokenizer()
    hidden = 32
    grid = TINY_IMAGE_SIZE // TINY_PATCH_SIZE
    config = JanusConfig(
        text_config={
            "model_type": "llama",
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 4,
            "max_position_embeddings": 8192,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "hidden_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": TINY_IMAGE_SIZE,
            "patch_size": TINY_PATCH_SIZE,
            "projection_dim": hidden,
            "num_image_tokens": grid * grid,
        },
        vq_config={
            "embed_dim": 8,
            "num_embeddings": TINY_CODEBOOK,
            "latent_channels": 32,
            "base_channels": 32,
            "channel_multiplier": [1, 1, 2, 2, 4],
            "num_res_blocks": 1,
            "projection_dim": hidden,
            "image_token_embed_dim": hidden,
        },
        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE),
        # A separate text head, as Janus-Pro's (the other weights are the same as with a tied one).
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = JanusForConditionalGeneration(config)
    model.eval()
    _teach_answer(model, tokenizer, CHAT_ANSWER)
    return model


def _teach_answer(model, tokenizer, answer: str, logit: float = 1.5) -> None:
    """Sets the lm_head rows of the answer's tokens and of EOS so that greedy
    decoding after "<|Assistant|>:" writes the answer, then EOS: each row is
    the direction of the last hidden state where its token should come next,
    scaled so that its logit there is `logit` (the random rows give about
    +-0.1)."""
    import torch

    chain = list(tokenizer(answer, add_special_tokens=False).input_ids) + [tokenizer.eos_token_id]
    if len(set(chain)) != len(chain):
        raise ValueError(f"the answer {answer!r} repeats a token")
    ids = list(tokenizer("<|User|>: Describe it.\n\n<|Assistant|>:").input_ids)
    lm = model.model.language_model
    with torch.no_grad():
        for nxt in chain:
            h = lm(input_ids=torch.tensor([ids])).last_hidden_state[0, -1].float()
            model.lm_head.weight[nxt] = (logit * h / h.dot(h)).to(model.lm_head.weight.dtype)
            ids.append(nxt)


def save_tiny(path: str, seed: int = 0) -> str:
    """Writes a tiny model and its tokenizer to path, as from_pretrained reads them."""
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, seed=seed)
    os.makedirs(path, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
