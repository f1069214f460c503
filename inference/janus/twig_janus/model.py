"""The Janus engine: batched CFG image-token generation and the VQ codec.

The engine drives the parts of `transformers`' `JanusForConditionalGeneration`
that its own `generate(generation_mode="image")` uses -- the text embeddings,
the Llama language model, the image-token embeddings and aligner
(`prepare_embeddings_for_image_generation`) and the generation head -- but in
the TwiG reference code's way (twig-method.md section 2):

- a call is stateless: the text prefix is wrapped in the reference prompt
  ``"User: {prefix}\\n\\nAssistant:<begin_of_image>"`` and the whole sequence,
  prefix plus the prior image tokens, is encoded from scratch;
- classifier-free guidance runs a second, unconditional row per item, the same
  sequence with every text token but BOS and `<begin_of_image>` replaced by
  the pad token ``<｜▁pad▁｜>`` (the reference processor's pad id; see
  `cfg_pad_id`), and mixes ``uncond + cfg * (cond - uncond)``;
- the next token is sampled at the given temperature (0 = greedy), with
  optional top-k and top-p.

`transformers`' own `generate` cannot serve the protocol: it always paints
all 576 tokens from nothing (no prior tokens) and samples the whole batch from
one random stream. Here each item draws its uniforms from its own
`torch.Generator` seeded with the request's seed, so an item's tokens do not
depend on what else is in its batch.

Many calls run as one batch: the rows (a conditional one per item, an
unconditional one per item whose cfg is not 1) are left-padded to a common
length with an attention mask and per-row position ids, prefilled once, and
decoded token by token with a static KV cache (decode.py: eagerly, or with
CUDA graphs when the engine is loaded with cuda_graphs=True on a GPU).
"""

from __future__ import annotations

import inspect
import io
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from .common import DEFAULT_PROMPT_TEMPLATE, RANDOM_PREFIX, TINY_MODEL, RequestError, integer_field, number_field
from .decode import DecodeState, GraphDecoder

_UINT64 = (1 << 64) - 1

log = logging.getLogger("twig_janus")


@dataclass
class GenerateRequest:
    prefix: str
    n: int
    prior: list[int] = field(default_factory=list)
    cfg: float = 5.0
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0


@dataclass
class GenerateResult:
    tokens: list[int]
    input_tokens: int
    output_tokens: int


def _dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    try:
        return {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16,
                "fp16": torch.float16, "float32": torch.float32, "fp32": torch.float32}[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}: use auto, bfloat16, float16 or float32") from None


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _resolve_revision(model_id: str, revision: str | None) -> str:
    """The commit a hub model id was loaded at, else the revision asked for.

    A local folder reports the revision as given ("local" by default), a
    random model "random" (its weights are random: see random_model.py)."""
    if model_id.startswith(RANDOM_PREFIX):
        return revision or "random"
    if os.path.isdir(model_id) or model_id == TINY_MODEL:
        return revision or "local"
    try:
        from transformers.utils import cached_file

        path = cached_file(model_id, "config.json", revision=revision)
        m = re.search(r"snapshots[/\\]([0-9a-f]{40})[/\\]", path or "")
        if m:
            return m.group(1)
    except Exception:  # noqa: BLE001 - the revision is informative only
        pass
    return revision or "main"


# The token the TwiG reference code pads the unconditional CFG row with: its
# Janus processor's pad id, the id of this token of DeepSeek's tokenizer
# (full-width vertical bars U+FF5C and lower one eighth blocks U+2581).
CFG_PAD_TOKEN = "<\uff5c\u2581pad\u2581\uff5c>"


def _token_id(tokenizer, token: str) -> int | None:
    """The id of token in tokenizer's vocabulary, None when it has none
    (convert_tokens_to_ids answers the unk id, or None, for an unknown token)."""
    try:
        tid = tokenizer.convert_tokens_to_ids(token)
    except (KeyError, ValueError, TypeError):
        return None
    if tid is None or isinstance(tid, list):
        return None
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is not None and tid == unk and getattr(tokenizer, "unk_token", None) != token:
        return None
    return int(tid)


def cfg_pad_id(tokenizer, generation_config=None) -> int:
    """The id that replaces the text tokens in CFG's unconditional row.

    As the reference code: the id of CFG_PAD_TOKEN. Warns when the
    tokenizer's own pad_token_id differs from it (the reference code does
    not use that one). A tokenizer without CFG_PAD_TOKEN falls back, with a
    warning, to its pad_token_id, then to the generation config's."""
    pad = _token_id(tokenizer, CFG_PAD_TOKEN)
    tok_pad = getattr(tokenizer, "pad_token_id", None)
    if pad is not None:
        if tok_pad is not None and tok_pad != pad:
            log.warning("the tokenizer's pad_token_id is %s but %r is id %s: the unconditional CFG row "
                        "pads with %s, as the reference code", tok_pad, CFG_PAD_TOKEN, pad, pad)
        return pad
    fallback, source = tok_pad, "the tokenizer's pad_token_id"
    if fallback is None:
        fallback = getattr(generation_config, "pad_token_id", None) if generation_config is not None else None
        source = "the generation config's pad_token_id"
    if fallback is None:
        raise ValueError(f"the tokenizer has no {CFG_PAD_TOKEN!r} token, and neither the tokenizer nor the "
                         "generation config has a pad token")
    log.warning("the tokenizer has no %r token (the reference code's CFG pad): the unconditional CFG row "
                "pads with %s, %s", CFG_PAD_TOKEN, source, fallback)
    return int(fallback)


class JanusEngine:
    """Janus image generation and VQ coding for the worker protocol.

    `generate_batch`, `decode_batch` and `encode_batch` each take a list of
    requests and answer a list of the same length, in order, where an item
    is its answer or the `RequestError` that item failed with. They may be
    called from different threads; each batch function runs one batch at a
    time.
    """

    def __init__(self, model, tokenizer, *, model_name: str, revision: str,
                 device: torch.device, prompt_template: str = DEFAULT_PROMPT_TEMPLATE,
                 vq_dtype: torch.dtype = torch.float32, cuda_graphs: bool | str = False,
                 image_spec=None, chat_image_system_prompt: str | None = None, chat_answer_tokens: int = 0):
        self.model = model
        self.tokenizer = tokenizer
        self.model_name = model_name
        self.revision = revision
        self.device = device
        self.prompt_template = prompt_template
        if "{prefix}" not in prompt_template:
            raise ValueError("the prompt template must contain {prefix}")

        cfg = model.config
        vq = cfg.vq_config
        self.codebook_size = int(vq.num_embeddings)
        self.grid = int(vq.num_patches)
        self.patch_size = 2 ** (len(vq.channel_multiplier) - 1)
        self.image_size = self.grid * self.patch_size
        self.num_tokens = self.grid * self.grid
        self.max_positions = int(getattr(cfg.text_config, "max_position_embeddings", 0) or 0)

        self.bos_id = tokenizer.bos_token_id
        boi = getattr(tokenizer, "boi_token", None) or "<begin_of_image>"
        self.boi_token = str(boi)
        self.boi_id = tokenizer.convert_tokens_to_ids(self.boi_token)
        if self.boi_id is None or self.boi_id == tokenizer.unk_token_id:
            raise ValueError(f"the tokenizer has no {self.boi_token!r} token")
        self.pad_id = cfg_pad_id(tokenizer, getattr(model, "generation_config", None))

        self.lm = model.model.language_model
        # transformers renamed past_key_values to cache in 5.x.
        params = inspect.signature(self.lm.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self.text_embed = model.get_input_embeddings()
        self.gen_head = model.model.generation_head
        self.vq = model.model.vqmodel
        self.vq.to(dtype=vq_dtype)
        self.vq_dtype = vq_dtype
        self._tok_lock = threading.Lock()  # fast tokenizers are not thread-safe
        self._gen_lock = threading.Lock()
        self._vq_lock = threading.Lock()
        self._embed_dtype = self.text_embed.weight.dtype

        # The decode step's attention mask: a 4D mask updated in place for sdpa
        # (bool, as transformers builds it) and eager attention (additive float);
        # other implementations get the 2D mask and build their own.
        impl = getattr(self.lm.config, "_attn_implementation", None) or "sdpa"
        self._mask_kind = {"sdpa": "bool", "eager": "float"}.get(impl, "2d")
        self._graphs: GraphDecoder | None = None
        if cuda_graphs == "emulate":  # tests: the graph path's padding and cache, stepped eagerly
            self._graphs = GraphDecoder(self, emulate=True)
        elif cuda_graphs:
            if device.type != "cuda":
                log.warning("cuda graphs need a CUDA device, not %s: decoding eagerly", device)
            elif self._mask_kind == "2d":
                log.warning("cuda graphs need attention sdpa or eager, not %s: decoding eagerly", impl)
            else:
                self._graphs = GraphDecoder(self)

        # Understanding (POST /v1/chat/completions): chat.py.
        from .chat import JANUS_SYSTEM_PROMPT, Understanding

        self.chat_error: str | None = None
        self.understanding: Understanding | None = None
        try:
            self.understanding = Understanding(
                self, image_spec=image_spec,
                image_system_prompt=JANUS_SYSTEM_PROMPT if chat_image_system_prompt is None
                else chat_image_system_prompt, answer_tokens=chat_answer_tokens)
        except Exception as e:  # noqa: BLE001 - painting still works without it
            self.chat_error = f"{type(e).__name__}: {e}"
            log.warning("understanding (chat) is not available: %s", self.chat_error)

    @property
    def cuda_graphs(self) -> bool:
        """Whether batches decode with CUDA graphs (False after a capture failed)."""
        return self._graphs is not None and not self._graphs.emulate and not self._graphs.disabled

    def graph_stats(self) -> dict | None:
        return None if self._graphs is None else self._graphs.stats()

    # ---------------------------------------------------------------- loading

    @classmethod
    def load(cls, model_id: str, *, revision: str | None = None, device: str = "auto",
             dtype: str = "auto", served_model_name: str | None = None,
             prompt_template: str = DEFAULT_PROMPT_TEMPLATE, vq_dtype: str = "float32",
             attn_implementation: str | None = None, cuda_graphs: bool | str = False,
             chat_image_system_prompt: str | None = None, chat_answer_tokens: int = 0) -> "JanusEngine":
        """Loads a Janus checkpoint in `transformers` format, or builds `tiny-random`
        or a `random:<architecture>` model (random_model.py) on the device."""
        from transformers import AutoTokenizer, JanusForConditionalGeneration, PretrainedConfig

        dev = _device(device)
        dt = _dtype(dtype, dev)
        model_name = served_model_name or model_id
        if model_id == TINY_MODEL:
            from . import tiny

            tokenizer = tiny.build_tokenizer()
            model = tiny.build_model(tokenizer, seed=0).to(device=dev, dtype=dt)
        elif model_id.startswith(RANDOM_PREFIX):
            from . import random_model

            model, tokenizer, canonical = random_model.build(model_id, device=dev, dtype=dt,
                                                             attn_implementation=attn_implementation)
            # Answers must say that the weights are random, whatever the name asked for.
            model_name = served_model_name or canonical
            if not model_name.startswith(RANDOM_PREFIX):
                model_name = RANDOM_PREFIX + model_name
            model_id = canonical
        else:
            raw, _ = PretrainedConfig.get_config_dict(model_id, revision=revision)
            if raw.get("model_type") != "janus":
                raise ValueError(
                    f"{model_id} is a {raw.get('model_type', '?')!r} checkpoint, not a transformers "
                    "'janus' one. deepseek-ai/Janus-Pro-7B is in DeepSeek's original format; use its "
                    "transformers conversion, deepseek-community/Janus-Pro-7B (the same weights)."
                )
            tokenizer = AutoTokenizer.from_pretrained(model_id, revision=revision)
            kwargs = {"revision": revision, "dtype": dt}
            if attn_implementation:
                kwargs["attn_implementation"] = attn_implementation
            # Loads the weights straight onto the device (this needs accelerate).
            kwargs["device_map"] = str(dev)
            model = JanusForConditionalGeneration.from_pretrained(model_id, **kwargs)
        model.eval()
        from .chat import image_spec_for

        image_spec = image_spec_for(model_id, int(model.config.vision_config.image_size), revision)
        return cls(model, tokenizer, model_name=model_name,
                   revision=_resolve_revision(model_id, revision), device=dev,
                   prompt_template=prompt_template, vq_dtype=_dtype(vq_dtype, dev), cuda_graphs=cuda_graphs,
                   image_spec=image_spec, chat_image_system_prompt=chat_image_system_prompt,
                   chat_answer_tokens=chat_answer_tokens)

    # ------------------------------------------------------------------- info

    @property
    def model_id(self) -> str:
        return f"{self.model_name}@{self.revision}" if self.revision else self.model_name

    @property
    def prompt_wrapper(self) -> str:
        """The exact text a region is conditioned on, with "{prefix}" where the
        prefix goes: the prompt template followed by the image-start token
        (what _prompt_ids tokenises, BOS aside)."""
        return self.prompt_template + self.boi_token

    def info(self) -> dict:
        out = {"model": self.model_name, "revision": self.revision, "image_size": self.image_size,
               "patch_size": self.patch_size, "codebook_size": self.codebook_size,
               "prompt_wrapper": self.prompt_wrapper, "chat": self.understanding is not None}
        if self.understanding is not None and self.understanding.answer_tokens:
            out["chat_answer_tokens"] = self.understanding.answer_tokens  # a measurement mode: say so
        return out

    # ------------------------------------------------------------- validation

    def check_tokens(self, tokens, what: str, *, exact: int | None = None) -> list[int]:
        """Validates a JSON list of codebook ids; raises RequestError."""
        if not isinstance(tokens, list):
            raise RequestError(f"{what} must be a list of integers")
        if exact is not None and len(tokens) != exact:
            raise RequestError(f"{what} has {len(tokens)} tokens, want the full grid of {exact} "
                               f"({self.grid}x{self.grid})")
        for i, t in enumerate(tokens):
            if isinstance(t, bool) or not isinstance(t, int):
                raise RequestError(f"{what}[{i}] is {t!r}, not an integer")
            if not 0 <= t < self.codebook_size:
                raise RequestError(f"{what}[{i}] = {t} is outside the codebook [0,{self.codebook_size})")
        return tokens

    def parse_generate(self, body: dict) -> GenerateRequest:
        """Builds a GenerateRequest from a JSON object; raises RequestError."""
        if not isinstance(body, dict):
            raise RequestError("the body must be a JSON object")
        # Unknown fields are ignored, as the Go worker's JSON decoder does.
        prefix = body.get("prefix")
        if not isinstance(prefix, str):
            raise RequestError("prefix must be a string")
        prior = body.get("prior")
        prior = [] if prior is None else self.check_tokens(prior, "prior")
        n = body.get("n")
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise RequestError(f"n must be a positive integer, got {n!r}")
        if len(prior) + n > self.num_tokens:
            raise RequestError(f"positions [{len(prior)},{len(prior) + n}) run past the "
                               f"{self.num_tokens}-token grid")

        def number(name, default, lo=None, hi=None):
            return number_field(body, name, default, lo, hi)

        def integer(name, default, lo=None):
            return integer_field(body, name, default, lo)

        seed = integer("seed", 0)
        if not -(1 << 63) <= seed <= _UINT64:
            raise RequestError(f"seed {seed} does not fit in 64 bits")
        return GenerateRequest(
            prefix=prefix, prior=prior, n=n,
            cfg=number("cfg", 5.0, lo=0.0), temperature=number("temperature", 1.0, lo=0.0),
            top_k=integer("top_k", 0, lo=0), top_p=number("top_p", 1.0, lo=0.0, hi=1.0), seed=seed,
        )

    # ------------------------------------------------------------- generation

    def _prompt_ids(self, prefix: str) -> list[int]:
        text = self.prompt_template.replace("{prefix}", prefix) + self.boi_token
        with self._tok_lock:
            ids = list(self.tokenizer(text).input_ids)
        # As the reference code's tokenizer.encode: BOS first, <begin_of_image> last.
        if self.bos_id is not None and (not ids or ids[0] != self.bos_id):
            ids.insert(0, self.bos_id)
        if ids[-1] != self.boi_id:
            ids.append(self.boi_id)
        return ids

    def _uncond_ids(self, ids: list[int]) -> list[int]:
        keep = (self.bos_id, self.boi_id)
        return [t if t in keep else self.pad_id for t in ids]

    @torch.inference_mode()
    def generate_batch(self, reqs: list[GenerateRequest]) -> list:
        """Generates every request's tokens in one batch (see the module doc)."""
        out: list = [None] * len(reqs)
        items = []  # (index, request, text ids)
        for i, r in enumerate(reqs):
            ids = self._prompt_ids(r.prefix)
            total = len(ids) + len(r.prior) + r.n
            if self.max_positions and total > self.max_positions:
                out[i] = RequestError(f"prompt of {len(ids)} text tokens, {len(r.prior)} prior and {r.n} new "
                                      f"tokens exceeds the model's {self.max_positions} positions")
                continue
            items.append((i, r, ids))
        if items:
            t0 = time.monotonic()
            with self._gen_lock:
                tokens = self._generate_splitting([r for _, r, _ in items], [ids for _, _, ids in items])
            log.info("generate: batch of %d calls, %d new tokens at most, in %.2fs", len(items),
                     max(r.n for _, r, _ in items), time.monotonic() - t0)
            for (i, r, ids), toks in zip(items, tokens):
                out[i] = GenerateResult(tokens=toks, input_tokens=len(ids) + len(r.prior), output_tokens=r.n)
        return out

    def _generate_splitting(self, reqs, text_ids) -> list[list[int]]:
        """_generate, halving the batch while the device runs out of memory.
        An item's tokens do not depend on its batch, so a split changes no answer."""
        try:
            return self._generate(reqs, text_ids)
        except torch.OutOfMemoryError:
            if len(reqs) == 1:
                raise
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        half = len(reqs) // 2
        log.warning("generate: out of memory with a batch of %d calls; running halves of %d and %d",
                    len(reqs), half, len(reqs) - half)
        return (self._generate_splitting(reqs[:half], text_ids[:half])
                + self._generate_splitting(reqs[half:], text_ids[half:]))

    def _generate(self, reqs: list[GenerateRequest], text_ids: list[list[int]]) -> list[list[int]]:
        g = self._graphs
        if g is not None and not g.disabled:
            try:
                return g.generate(reqs, text_ids)
            except torch.OutOfMemoryError:
                raise
            except Exception as e:  # noqa: BLE001 - a capture that fails: eager from now on
                if g.emulate:
                    raise
                log.exception("cuda graphs failed (%s: %s): decoding eagerly from now on", type(e).__name__, e)
                g.disabled = True
                g.release()
        return self._generate_eager(reqs, text_ids)

    def _prefill_inputs(self, reqs, text_ids, row_item: list[int], row_ids: list[list[int]]):
        """Left-padded input embeddings [R, L, hidden] of rows [pad..., text, prior image
        tokens], their 2D attention mask and position ids. Row r holds item
        row_item[r]'s prior after the text ids row_ids[r]."""
        dev = self.device
        R = len(row_item)
        lengths = [len(row_ids[r]) + len(reqs[row_item[r]].prior) for r in range(R)]
        L = max(lengths)
        embed_dtype = self._embed_dtype
        hidden = self.text_embed.weight.shape[1]
        embeds = torch.zeros((R, L, hidden), dtype=embed_dtype, device=dev)
        mask = torch.zeros((R, L), dtype=torch.long, device=dev)
        flat_text = torch.tensor([t for ids in row_ids for t in ids], dtype=torch.long, device=dev)
        text_emb = self.text_embed(flat_text)
        items = sorted(set(row_item))
        prior_flat = [t for i in items for t in reqs[i].prior]
        prior_emb = None
        if prior_flat:
            prior_emb = self.model.prepare_embeddings_for_image_generation(
                torch.tensor(prior_flat, dtype=torch.long, device=dev)).to(embed_dtype)
        prior_off, off = {}, 0
        for i in items:
            prior_off[i] = off
            off += len(reqs[i].prior)
        t_off = 0
        for r in range(R):
            item = row_item[r]
            nt, npri = len(row_ids[r]), len(reqs[item].prior)
            start = L - lengths[r]
            embeds[r, start:start + nt] = text_emb[t_off:t_off + nt]
            t_off += nt
            if npri:
                po = prior_off[item]
                embeds[r, start + nt:L] = prior_emb[po:po + npri]
            mask[r, start:] = 1
        position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
        return embeds, mask, position_ids

    @staticmethod
    def _uniforms(reqs, max_n: int) -> torch.Tensor:
        """[B, max_n] float64 on the CPU: every item's uniforms from its own
        generator, so its tokens do not depend on the batch it is in."""
        uniforms = torch.full((len(reqs), max_n), 0.5, dtype=torch.float64)
        for i, r in enumerate(reqs):
            g = torch.Generator(device="cpu")
            g.manual_seed(r.seed & _UINT64)
            uniforms[i, :r.n] = torch.rand(r.n, generator=g, dtype=torch.float64)
        return uniforms

    def _forward_step(self, st: DecodeState, cache) -> torch.Tensor:
        """Feeds every row its item's last token at the next position; returns
        the last hidden states [R, hidden]. Device work only (CUDA-graph safe
        for the 4D masks)."""
        row_tok = st.tok.index_select(0, st.row_item)
        step_emb = self.model.prepare_embeddings_for_image_generation(row_tok[:, None]).to(self._embed_dtype)
        if st.mask_kind == "2d":
            st.mask.index_fill_(1, st.write_pos, 1)
            st.host_len += 1
            mask = st.mask[:, :st.host_len]
        else:
            st.mask.index_fill_(3, st.write_pos, True if st.mask_kind == "bool" else 0.0)
            mask = st.mask
        out = self.lm(inputs_embeds=step_emb, attention_mask=mask, position_ids=st.pos_ids,
                      use_cache=True, **{self._cache_kw: cache})
        st.pos_ids.add_(1)
        st.write_pos.add_(1)
        return out.last_hidden_state[:, -1, :]

    def _head_sample(self, st: DecodeState, h: torch.Tensor) -> None:
        """Generation head, CFG mixing (in float32), sampling; stores the
        tokens at the step counter and advances it. Device work only."""
        scores = self.gen_head(h).float()
        S = st.tok.shape[0]
        logits = scores[:S]
        if st.any_unc:
            unc = scores.index_select(0, st.unc_row)
            mixed = unc + st.cfg_w[:, None] * (logits - unc)
            logits = torch.where(st.has_unc[:, None], mixed, logits)
        u = st.uniforms.index_select(1, st.step).squeeze(1)
        nxt = sample(logits, st.temps, st.top_k, st.top_p, u, st.use_top_k, st.use_top_p)
        st.generated.index_copy_(1, st.step, nxt[:, None])
        st.tok.copy_(nxt)
        st.step.add_(1)

    def _generate_eager(self, reqs: list[GenerateRequest], text_ids: list[list[int]]) -> list[list[int]]:
        B = len(reqs)
        uncond = [i for i, r in enumerate(reqs) if r.cfg != 1.0]
        row_item = list(range(B)) + uncond  # row -> item
        row_ids = [text_ids[i] for i in range(B)] + [self._uncond_ids(text_ids[i]) for i in uncond]
        max_n = max(r.n for r in reqs)
        embeds, mask, position_ids = self._prefill_inputs(reqs, text_ids, row_item, row_ids)
        L = mask.shape[1]

        from transformers import StaticCache

        cache = StaticCache(config=self.lm.config, max_cache_len=L + max_n)
        st = DecodeState.allocate(slots=B, rows=len(row_item), cache_len=L + max_n, n_cap=max_n,
                                  device=self.device, mask_kind=self._mask_kind, mask_dtype=self._embed_dtype)
        unc_row = list(range(B))
        for j, i in enumerate(uncond):
            unc_row[i] = B + j
        st.fill(slot_reqs=reqs, row_item=row_item, unc_row=unc_row, has_unc=[r.cfg != 1.0 for r in reqs],
                uniforms=self._uniforms(reqs, max_n), mask2d=mask, position_ids=position_ids)
        st.any_unc = bool(uncond)
        st.use_top_k = any(r.top_k > 0 for r in reqs)
        st.use_top_p = any(r.top_p < 1.0 for r in reqs)
        out = self.lm(inputs_embeds=embeds, attention_mask=mask, position_ids=position_ids,
                      use_cache=True, **{self._cache_kw: cache})
        h = out.last_hidden_state[:, -1, :]
        del out, embeds
        self._head_sample(st, h)
        for _ in range(max_n - 1):
            h = self._forward_step(st, cache)
            self._head_sample(st, h)
        gen = st.generated.cpu().tolist()
        return [gen[i][:r.n] for i, r in enumerate(reqs)]

    # ---------------------------------------------------------- understanding

    def parse_chat(self, body, *, max_tokens_cap: int | None = None):
        """An OpenAI chat-completions body -> a chat.ChatRequest (rendered,
        tokenised, images prepared); raises RequestError."""
        from .chat import DEFAULT_CHAT_MAX_TOKENS

        if self.understanding is None:
            raise RequestError(f"understanding is not available: {self.chat_error}")
        cap = DEFAULT_CHAT_MAX_TOKENS if max_tokens_cap is None else max_tokens_cap
        return self.understanding.parse(body, max_tokens_cap=cap)

    def chat_batch(self, reqs: list) -> list:
        """Answers chat requests in one batch: chat.ChatResult per request."""
        return self.understanding.batch(reqs)

    # ------------------------------------------------------------------ codec

    @torch.inference_mode()
    def decode_batch(self, grids: list[list[int]]) -> list:
        """Renders full token grids as PNG bytes (token 0 renders as itself:
        the placeholder of a partial canvas)."""
        if not grids:
            return []
        with self._vq_lock:
            tokens = torch.tensor(grids, dtype=torch.long, device=self.device)
            pixels = self.vq.decode(tokens).float()
            # As the reference code: clip((x + 1) / 2 * 255, 0, 255).astype(uint8).
            pixels = ((pixels + 1) / 2 * 255).clamp(0, 255).to(torch.uint8)
            arrays = pixels.permute(0, 2, 3, 1).cpu().numpy()
        out = []
        for a in arrays:
            buf = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(a), "RGB").save(buf, format="PNG")
            out.append(buf.getvalue())
        return out

    def load_image(self, data: bytes) -> np.ndarray:
        """Reads an image and resizes it to the model's image size (bicubic);
        raises RequestError for bytes that are not an image."""
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                im = im.convert("RGB")
                if im.size != (self.image_size, self.image_size):
                    im = im.resize((self.image_size, self.image_size), Image.Resampling.BICUBIC)
                return np.asarray(im, dtype=np.uint8)
        except Exception as e:  # noqa: BLE001 - any decoding failure is the request's
            raise RequestError(f"cannot read the image: {e}") from None

    @torch.inference_mode()
    def encode_batch(self, images: list[np.ndarray]) -> list:
        """Tokenises images (HxWx3 uint8 of the model's size) with the VQ
        encoder into full grids, raster order."""
        if not images:
            return []
        with self._vq_lock:
            x = torch.from_numpy(np.stack(images)).to(self.device)
            x = x.permute(0, 3, 1, 2).to(self.vq_dtype) / 127.5 - 1.0
            enc = self.vq.encode(x)
            ids = enc.image_tokens.view(len(images), -1).cpu().tolist()
        return ids


def sample(logits: torch.Tensor, temps: torch.Tensor, top_k: torch.Tensor, top_p: torch.Tensor,
           u: torch.Tensor, use_top_k: bool = True, use_top_p: bool = True) -> torch.Tensor:
    """Samples one token per row of logits [B, V] by inverse CDF with the
    row's uniform u in [0,1): temperature (0 = greedy), then top-k (0 = off),
    then top-p (1 = off), like transformers' warpers."""
    B, V = logits.shape
    greedy = temps <= 0
    x = logits / torch.where(greedy, torch.ones_like(temps), temps)[:, None]
    if use_top_k:
        k = torch.where(top_k > 0, top_k.clamp(max=V), torch.full_like(top_k, V))
        kth = torch.sort(x, dim=-1, descending=True).values.gather(1, (k - 1)[:, None])
        x = x.masked_fill(x < kth, float("-inf"))
    if use_top_p:
        sorted_x, order = torch.sort(x, dim=-1, descending=True)
        p = torch.softmax(sorted_x, dim=-1)
        before = p.cumsum(-1) - p  # probability mass ranked above each token
        drop = before >= top_p[:, None]
        drop[:, 0] = False
        drop = drop & (top_p[:, None] < 1.0)
        x = x.masked_fill(torch.zeros_like(drop).scatter(1, order, drop), float("-inf"))
    probs = torch.softmax(x, dim=-1).double()
    cdf = probs.cumsum(-1)
    target = (u.double() * cdf[:, -1])[:, None]
    picked = torch.searchsorted(cdf, target, right=True).squeeze(1).clamp(max=V - 1)
    return torch.where(greedy, torch.argmax(logits, dim=-1), picked)
