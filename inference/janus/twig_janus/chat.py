"""Janus understanding mode behind an OpenAI-style chat endpoint.

`POST /v1/chat/completions` lets the model that paints also think and
critique, as in the TwiG paper's zero-shot setting: the same Janus-Pro reads
the conversation (and the partial canvas) and writes text with its language
model head, greedily by default in twig (temperature 0), up to 512 new
tokens.

The request is read in the HTTP thread (`parse_chat`): the messages are
rendered into Janus's chat format, tokenised, the images decoded and
prepared for the SigLIP encoder, and every limit checked, so that a bad call
answers 400 at once. A batcher thread then runs many calls as one batch
(`chat_batch`): the images of all calls go through the vision encoder and the
understanding aligner together, their features replace the image placeholder
tokens' embeddings, the rows are left-padded to one length and prefilled
once, then decoded token by token with a static KV cache until every call has
met its end of sentence, one of its stop strings or its token limit.

The prompt is DeepSeek's "deepseek" conversation format, as Janus's
`VLChatProcessor` renders it:

    {system}\\n\\n<|User|>: <image_placeholder>\\n{text}\\n\\n<|Assistant|>: {answer}<｜end▁of▁sentence｜><|User|>: ...\\n\\n<|Assistant|>:

(no system part when the system text is empty; the tokenizer adds BOS; each
`<image_placeholder>` becomes `<begin_of_image>`, one placeholder per image
token, `<end_of_image>`). An image goes before the text of its user turn,
wherever the client put it among the turn's parts.

Sampling is per call, as for /v1/generate: temperature (at most 1e-6 is
greedy: twig's Go client sends the smallest float32 for 0), top-p, top-k,
with uniforms drawn from the call's own `torch.Generator(seed)`, so an answer
does not depend on the batch it ran in.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from .common import RequestError, integer_field, number_field

log = logging.getLogger("twig_janus")

_UINT64 = (1 << 64) - 1

USER_ROLE = "<|User|>"
ASSISTANT_ROLE = "<|Assistant|>"
IMAGE_TAG = "<image_placeholder>"
IMAGE_END_TAG = "<end_of_image>"

# The system prompt DeepSeek's VLChatProcessor puts in front of a conversation
# it renders (the same sentence as transformers' JanusProcessor default). The
# worker uses it for a call that carries an image and no system message;
# a call without images gets no system prompt (the TwiG reference's first
# band). --chat-image-system-prompt "" turns it off.
JANUS_SYSTEM_PROMPT = (
    "You are a helpful language and vision assistant. "
    "You are able to understand the visual content that the user provides, "
    "and assist the user with a variety of tasks using natural language."
)

DEFAULT_MAX_TOKENS = 512        # an answer's token limit when the call gives none
DEFAULT_CHAT_MAX_TOKENS = 1024  # the most a call may ask for (--chat-max-tokens)
GREEDY_BELOW = 1e-6             # temperatures at most this are greedy
MAX_STOPS = 16
VISION_CHUNK = 16               # images per vision-encoder pass

# Janus-Pro's preprocessor_config.json (SigLIP): mean and std 0.5, images
# resized so the longer side is the encoder's size (never under 14 px), then
# padded to a square with the mean colour. Read from the checkpoint when it
# has that file.
JANUS_IMAGE_MEAN = (0.5, 0.5, 0.5)
JANUS_IMAGE_STD = (0.5, 0.5, 0.5)
JANUS_MIN_SIZE = 14

_DATA_URL = re.compile(r"^data:(image/[A-Za-z0-9.+-]+)?((?:;[^;,]*)*?);base64,", re.IGNORECASE)


@dataclass
class ImageSpec:
    """How images are prepared for the vision encoder."""

    size: int
    mean: tuple[float, float, float] = JANUS_IMAGE_MEAN
    std: tuple[float, float, float] = JANUS_IMAGE_STD
    min_size: int = JANUS_MIN_SIZE
    rescale: float = 1.0 / 255.0

    @property
    def background(self) -> tuple[int, int, int]:
        return tuple(int(m * 255) for m in self.mean)


def image_spec_for(model_id: str, size: int, revision: str | None = None) -> ImageSpec:
    """The checkpoint's preprocessor_config.json values where it has one,
    Janus-Pro's otherwise (tiny-random and random: models have none)."""
    spec = ImageSpec(size=size)
    path = None
    if os.path.isdir(model_id):
        p = os.path.join(model_id, "preprocessor_config.json")
        path = p if os.path.isfile(p) else None
    elif "/" in model_id and not model_id.startswith("random:"):
        try:
            from transformers.utils import cached_file

            path = cached_file(model_id, "preprocessor_config.json", revision=revision,
                               _raise_exceptions_for_missing_entries=False)
        except Exception:  # noqa: BLE001 - the defaults are Janus-Pro's
            path = None
    if not path:
        return spec
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        if isinstance(raw.get("image_mean"), list) and len(raw["image_mean"]) == 3:
            spec.mean = tuple(float(x) for x in raw["image_mean"])
        if isinstance(raw.get("image_std"), list) and len(raw["image_std"]) == 3:
            spec.std = tuple(float(x) for x in raw["image_std"])
        if isinstance(raw.get("min_size"), int):
            spec.min_size = raw["min_size"]
        if isinstance(raw.get("rescale_factor"), (int, float)):
            spec.rescale = float(raw["rescale_factor"])
    except Exception as e:  # noqa: BLE001
        log.warning("cannot read %s (%s): preparing images with Janus-Pro's values", path, e)
    return spec


def prepare_image(data: bytes, spec: ImageSpec) -> np.ndarray:
    """Image bytes -> float32 [3, size, size] for the vision encoder, as
    Janus's VLMImageProcessor: RGB, the longer side resized to size
    (bicubic), padded to a square with the mean colour (centred), scaled to
    [0, 1] and normalised. Raises RequestError for bytes Pillow cannot read."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            im = im.convert("RGB")
    except Exception as e:  # noqa: BLE001 - any decoding failure is the request's
        raise RequestError(f"cannot read the image: {e}") from None
    w, h = im.size
    longest = max(w, h)
    nw = max(int(w / longest * spec.size), spec.min_size)
    nh = max(int(h / longest * spec.size), spec.min_size)
    if (nw, nh) != (w, h):
        im = im.resize((nw, nh), Image.Resampling.BICUBIC)
    if nw != nh:
        side = max(nw, nh)
        canvas = Image.new("RGB", (side, side), spec.background)
        canvas.paste(im, ((side - nw) // 2, (side - nh) // 2))
        im = canvas
    if im.size != (spec.size, spec.size):  # min_size can leave it off by a few pixels
        im = im.resize((spec.size, spec.size), Image.Resampling.BICUBIC)
    x = np.asarray(im, dtype=np.float32).transpose(2, 0, 1) * spec.rescale
    mean = np.asarray(spec.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(spec.std, dtype=np.float32)[:, None, None]
    return np.ascontiguousarray((x - mean) / std, dtype=np.float32)


# ------------------------------------------------------------------ requests


@dataclass
class Turn:
    role: str  # "user" or "assistant"
    text: str
    images: list[bytes] = field(default_factory=list)


@dataclass
class Conversation:
    system: str | None  # None: the client sent no system message
    turns: list[Turn]

    @property
    def n_images(self) -> int:
        return sum(len(t.images) for t in self.turns)


@dataclass
class ChatRequest:
    """A parsed, tokenised call, ready for a batch."""

    ids: list[int]                 # BOS, the prompt, image placeholders expanded
    pixels: list[np.ndarray]       # one [3, S, S] array per image, in prompt order
    max_tokens: int
    temperature: float = 1.0       # 0: greedy
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0
    stop: list[str] = field(default_factory=list)
    prompt: str = ""               # the rendered text (image placeholders not expanded)
    ignore_eos: bool = False       # the benchmark's: run to max_tokens (not settable over HTTP)
    answer_tokens: int = 0         # --chat-answer-tokens: end after exactly this many tokens (0: off)

    @property
    def length(self) -> int:
        """The most tokens this call can generate: max_tokens, or fewer
        when a fixed answer length ends it first."""
        return min(self.max_tokens, self.answer_tokens) if self.answer_tokens > 0 else self.max_tokens


@dataclass
class ChatResult:
    text: str
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int
    completion_tokens: int


def _image_bytes(part, where: str) -> bytes:
    iu = part.get("image_url")
    url = iu.get("url") if isinstance(iu, dict) else iu
    if not isinstance(url, str) or not url:
        raise RequestError(f"{where}.image_url.url must be a string")
    low = url[:16].lower()
    if low.startswith(("http://", "https://")):
        raise RequestError(f"{where}: the worker fetches nothing: send the image inline as a "
                           "data:image/png;base64,... URL, not an http(s) URL")
    m = _DATA_URL.match(url)
    if not m:
        raise RequestError(f"{where}.image_url.url must be a base64 data URL (data:image/png;base64,... "
                           "or data:image/jpeg;base64,...)")
    payload = url[m.end():]
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as e:
        raise RequestError(f"{where}: the image is not valid base64: {e}") from None
    if not raw:
        raise RequestError(f"{where}: the image is empty")
    return raw


def parse_messages(messages) -> Conversation:
    """OpenAI messages -> a Conversation; raises RequestError."""
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages must be a non-empty list")
    systems: list[str] = []
    turns: list[Turn] = []
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise RequestError(f"{where} must be an object")
        role = msg.get("role")
        if role == "developer":
            role = "system"
        if role not in ("system", "user", "assistant"):
            raise RequestError(f"{where}.role {role!r} is not served: use system, user or assistant")
        if msg.get("tool_calls") or msg.get("function_call"):
            raise RequestError(f"{where}: tool calls are not served")
        content = msg.get("content")
        texts: list[str] = []
        images: list[bytes] = []
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for j, part in enumerate(content):
                pw = f"{where}.content[{j}]"
                if not isinstance(part, dict):
                    raise RequestError(f"{pw} must be an object")
                typ = part.get("type")
                if typ == "text":
                    t = part.get("text")
                    if not isinstance(t, str):
                        raise RequestError(f"{pw}.text must be a string")
                    texts.append(t)
                elif typ == "image_url":
                    if role != "user":
                        raise RequestError(f"{pw}: only user messages may carry images")
                    images.append(_image_bytes(part, pw))
                else:
                    raise RequestError(f"{pw}.type {typ!r} is not served: use text or image_url")
        else:
            raise RequestError(f"{where}.content must be a string or a list of content parts, "
                               f"not {type(content).__name__}")
        text = "\n".join(texts).strip()
        if role == "system":
            if text:
                systems.append(text)
            elif not systems:
                systems.append("")
            continue
        if not text and not images:
            raise RequestError(f"{where} has no content")
        turns.append(Turn(role=role, text=text, images=images))
    if not turns or turns[-1].role != "user":
        raise RequestError("the last message must be a user message (the worker answers it)")
    system = None if not systems else "\n\n".join(s for s in systems if s)
    return Conversation(system=system, turns=turns)


def render(conv: Conversation, eos_token: str, image_system_prompt: str = JANUS_SYSTEM_PROMPT) -> str:
    """The prompt text in Janus's chat format (see the module doc), one
    `<image_placeholder>` per image, not yet expanded."""
    system = conv.system
    if system is None:
        system = image_system_prompt if conv.n_images else ""
    out = system + "\n\n" if system else ""
    for t in conv.turns:
        if t.role == "user":
            text = (IMAGE_TAG + "\n") * len(t.images) + t.text
            out += f"{USER_ROLE}: {text.strip()}\n\n"
        else:
            out += f"{ASSISTANT_ROLE}: {t.text}{eos_token}"
    out += f"{ASSISTANT_ROLE}:"
    return out.strip()


def parse_options(body: dict, *, max_tokens_cap: int = DEFAULT_CHAT_MAX_TOKENS) -> dict:
    """The sampling options of an OpenAI chat request; raises RequestError."""
    if body.get("stream"):
        raise RequestError("stream is not served: send stream false or leave it out")
    n = body.get("n")
    if n is not None and (isinstance(n, bool) or n != 1):
        raise RequestError(f"n must be 1, got {n!r}")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise RequestError("model must be a string")
    for name in ("tools", "functions"):
        if body.get(name):
            raise RequestError(f"{name} are not served")
    if body.get("logprobs"):
        raise RequestError("logprobs are not served")
    for name in ("presence_penalty", "frequency_penalty"):
        if number_field(body, name, 0.0) != 0.0:
            raise RequestError(f"{name} is not served (send 0 or leave it out)")
    rf = body.get("response_format")
    if rf is not None and not (isinstance(rf, dict) and rf.get("type") == "text"):
        raise RequestError("response_format is not served (only {\"type\": \"text\"})")

    name = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    max_tokens = integer_field(body, name, DEFAULT_MAX_TOKENS if max_tokens_cap >= DEFAULT_MAX_TOKENS else max_tokens_cap)
    if max_tokens < 1:
        raise RequestError(f"{name} must be at least 1, got {max_tokens}")
    if max_tokens > max_tokens_cap:
        raise RequestError(f"{name} {max_tokens} exceeds this worker's limit of {max_tokens_cap} "
                           "(--chat-max-tokens)")
    temperature = number_field(body, "temperature", 1.0, lo=0.0)
    if temperature <= GREEDY_BELOW:
        temperature = 0.0
    top_p = number_field(body, "top_p", 1.0, lo=0.0, hi=1.0)
    top_k = integer_field(body, "top_k", 0)
    if top_k == -1:
        top_k = 0
    if top_k < 0:
        raise RequestError(f"top_k {top_k} must be >= 0 (or -1: off)")
    seed = integer_field(body, "seed", 0)
    if not -(1 << 63) <= seed <= _UINT64:
        raise RequestError(f"seed {seed} does not fit in 64 bits")
    stop = body.get("stop")
    if stop is None:
        stops = []
    elif isinstance(stop, str):
        stops = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        stops = list(stop)
    else:
        raise RequestError("stop must be a string or a list of strings")
    if len(stops) > MAX_STOPS:
        raise RequestError(f"stop has {len(stops)} strings, at most {MAX_STOPS}")
    if any(s == "" for s in stops):
        raise RequestError("stop strings must not be empty")
    return {"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p, "top_k": top_k,
            "seed": seed, "stop": stops}


# ------------------------------------------------------------------- engine


class Understanding:
    """Janus's understanding mode on a loaded JanusEngine."""

    def __init__(self, engine, *, image_spec: ImageSpec | None = None,
                 image_system_prompt: str = JANUS_SYSTEM_PROMPT, answer_tokens: int = 0):
        """answer_tokens > 0 (--chat-answer-tokens, a measurement aid for
        random weights): every answer ends after exactly that many generated
        tokens, the last one an end of sentence forced in place of whatever
        was sampled (finish_reason "stop"), and the model's own end of
        sentence before it is ignored; a smaller max_tokens still cuts first
        ("length"), and stop strings still cut. Such a call samples only
        among text_ids (see there), so that its answer is visible text."""
        if answer_tokens < 0:
            raise ValueError(f"answer_tokens must be >= 0, got {answer_tokens}")
        self.answer_tokens = int(answer_tokens)
        self.e = engine
        model, tok = engine.model, engine.tokenizer
        cfg = model.config
        vision = cfg.vision_config
        self.image_id = getattr(cfg, "image_token_id", None)
        if self.image_id is None:
            self.image_id = tok.convert_tokens_to_ids(IMAGE_TAG)
        self.image_id = int(self.image_id)
        eoi = getattr(tok, "eoi_token", None) or IMAGE_END_TAG
        self.eoi_id = tok.convert_tokens_to_ids(str(eoi))
        if self.eoi_id is None or self.eoi_id == tok.unk_token_id:
            raise ValueError(f"the tokenizer has no {eoi!r} token")
        self.image_size = int(vision.image_size)
        grid = self.image_size // int(vision.patch_size)
        self.num_image_tokens = int(getattr(vision, "num_image_tokens", 0) or grid * grid)
        self.image_spec = image_spec or ImageSpec(size=self.image_size)
        self.image_spec.size = self.image_size
        self.image_system_prompt = image_system_prompt
        self.eos_token = tok.eos_token or "<\uff5cend\u2581of\u2581sentence\uff5c>"
        eos = set()
        for src in (tok.eos_token_id, getattr(getattr(model, "generation_config", None), "eos_token_id", None),
                    getattr(cfg.text_config, "eos_token_id", None)):
            if isinstance(src, int):
                eos.add(src)
            elif isinstance(src, (list, tuple)):
                eos.update(int(x) for x in src if isinstance(x, int))
        if not eos:
            raise ValueError("the tokenizer has no end-of-sentence token")
        self.eos_ids = sorted(eos)
        self.lm_head = model.lm_head
        self.vision = model.model.vision_model
        self.aligner = model.model.aligner
        self.vision_dtype = self.vision.embeddings.patch_embedding.weight.dtype
        self._blocked: torch.Tensor | None = None  # see blocked_ids

    def text_ids(self) -> list[int]:
        """The ids a fixed-length answer (answer_tokens) may sample: those
        the tokenizer decodes, alone, to visible text -- not special, not
        only whitespace, no U+FFFD (a byte that is not UTF-8 on its own).
        A random model's head spans the whole 102,400-entry vocabulary, of
        which its byte-level tokenizer knows a few hundred ids: unrestricted,
        its answers decode to nothing (twig counts an empty thought as a
        failure) or to replacement characters that re-encode to three tokens
        each. With these, an answer of N tokens is N - 1 visible characters
        or words that tokenise back to about N - 1 tokens."""
        tok = self.e.tokenizer
        n = min(len(tok), int(self.lm_head.weight.shape[0]))
        special = set(getattr(tok, "all_special_ids", []) or [])
        with self.e._tok_lock:
            texts = tok.batch_decode([[i] for i in range(n)], skip_special_tokens=True)
        ok = [i for i, t in enumerate(texts) if i not in special and t.strip() and "\ufffd" not in t]
        if not ok:
            raise RuntimeError("the tokenizer decodes no id to visible text")
        return ok

    def blocked_ids(self) -> torch.Tensor:
        """[vocab] bool on the device: True for the ids not in text_ids
        (built on first use, under the generation lock)."""
        if self._blocked is None:
            blocked = torch.ones(int(self.lm_head.weight.shape[0]), dtype=torch.bool)
            blocked[self.text_ids()] = False
            self._blocked = blocked.to(self.e.device)
        return self._blocked

    # ------------------------------------------------------------- parsing

    def parse(self, body, *, max_tokens_cap: int = DEFAULT_CHAT_MAX_TOKENS) -> ChatRequest:
        """An OpenAI chat request -> a ChatRequest; raises RequestError."""
        if not isinstance(body, dict):
            raise RequestError("the body must be a JSON object")
        if "messages" not in body:
            raise RequestError("messages is missing")
        opts = parse_options(body, max_tokens_cap=max_tokens_cap)
        conv = parse_messages(body.get("messages"))
        if any(IMAGE_TAG in t.text for t in conv.turns) or (conv.system and IMAGE_TAG in conv.system):
            raise RequestError(f"message text must not contain {IMAGE_TAG}: send images as image_url parts")
        prompt = render(conv, self.eos_token, self.image_system_prompt)
        images = [img for t in conv.turns for img in t.images]
        pixels = [prepare_image(raw, self.image_spec) for raw in images]
        ids = self.tokenize(prompt, len(images))
        total = len(ids) + opts["max_tokens"]
        limit = self.e.max_positions
        if limit and total > limit:
            raise RequestError(f"the prompt has {len(ids)} tokens and max_tokens is {opts['max_tokens']}: "
                               f"{total} exceeds the model's {limit} positions")
        return ChatRequest(ids=ids, pixels=pixels, prompt=prompt, answer_tokens=self.answer_tokens, **opts)

    def tokenize(self, prompt: str, n_images: int) -> list[int]:
        """BOS + the prompt's ids, each image placeholder expanded to
        <begin_of_image>, num_image_tokens placeholders, <end_of_image>."""
        e = self.e
        with e._tok_lock:
            ids = list(e.tokenizer(prompt).input_ids)
        if e.bos_id is not None and (not ids or ids[0] != e.bos_id):
            ids.insert(0, e.bos_id)
        found = sum(1 for t in ids if t == self.image_id)
        if found != n_images:
            raise RequestError(f"the prompt holds {found} image placeholders for {n_images} images")
        out: list[int] = []
        for t in ids:
            if t == self.image_id:
                out.append(e.boi_id)
                out.extend([self.image_id] * self.num_image_tokens)
                out.append(self.eoi_id)
            else:
                out.append(t)
        return out

    def decode_text(self, tokens: list[int]) -> str:
        with self.e._tok_lock:
            return self.e.tokenizer.decode(tokens, skip_special_tokens=True)

    # ------------------------------------------------------------- batches

    @torch.inference_mode()
    def batch(self, reqs: list[ChatRequest]) -> list:
        """Answers every request in one batch (halving it on out of memory)."""
        if not reqs:
            return []
        t0 = time.monotonic()
        with self.e._gen_lock:
            tokens = self._splitting(reqs)
        out = [self._finish(r, toks) for r, toks in zip(reqs, tokens)]
        log.info("chat: batch of %d calls, %d images, %d new tokens at most, in %.2fs", len(reqs),
                 sum(len(r.pixels) for r in reqs), max(len(t) for t in tokens), time.monotonic() - t0)
        return out

    def _splitting(self, reqs):
        try:
            return self._generate(reqs)
        except torch.OutOfMemoryError:
            if len(reqs) == 1:
                raise
        if self.e.device.type == "cuda":
            torch.cuda.empty_cache()
        half = len(reqs) // 2
        log.warning("chat: out of memory with a batch of %d calls; running halves of %d and %d",
                    len(reqs), half, len(reqs) - half)
        return self._splitting(reqs[:half]) + self._splitting(reqs[half:])

    def image_features(self, pixels: list[np.ndarray]) -> torch.Tensor:
        """[n, num_image_tokens, hidden]: the vision encoder, then the understanding aligner."""
        dev = self.e.device
        feats = []
        for s in range(0, len(pixels), VISION_CHUNK):
            px = torch.from_numpy(np.stack(pixels[s:s + VISION_CHUNK])).to(device=dev, dtype=self.vision_dtype)
            h = self.vision(pixel_values=px).last_hidden_state
            feats.append(self.aligner(h))
        return torch.cat(feats, 0)

    def _prefill_inputs(self, reqs: list[ChatRequest]):
        e = self.e
        dev = e.device
        B = len(reqs)
        lengths = [len(r.ids) for r in reqs]
        L = max(lengths)
        hidden = e.text_embed.weight.shape[1]
        embeds = torch.zeros((B, L, hidden), dtype=e._embed_dtype, device=dev)
        mask = torch.zeros((B, L), dtype=torch.long, device=dev)
        all_pixels = [p for r in reqs for p in r.pixels]
        feats = None
        if all_pixels:
            feats = self.image_features(all_pixels).to(e._embed_dtype)
            feats = feats.reshape(-1, feats.shape[-1])
        f_off = 0
        for i, r in enumerate(reqs):
            ids = torch.tensor(r.ids, dtype=torch.long, device=dev)
            emb = e.text_embed(ids)
            if r.pixels:
                where = ids == self.image_id
                n = int(where.sum())
                if n != len(r.pixels) * self.num_image_tokens:
                    raise RuntimeError(f"chat: {n} image positions for {len(r.pixels)} images")
                emb[where] = feats[f_off:f_off + n]
                f_off += n
            start = L - lengths[i]
            embeds[i, start:] = emb
            mask[i, start:] = 1
        position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
        return embeds, mask, position_ids

    def _uniforms(self, reqs, max_n: int) -> torch.Tensor:
        u = torch.full((len(reqs), max_n), 0.5, dtype=torch.float64)
        for i, r in enumerate(reqs):
            if r.temperature > 0:
                g = torch.Generator(device="cpu")
                g.manual_seed(r.seed & _UINT64)
                # max_tokens draws whatever the call's length: a fixed answer
                # length cuts the same stream, it does not change it.
                n = min(r.max_tokens, max_n)
                u[i, :n] = torch.rand(r.max_tokens, generator=g, dtype=torch.float64)[:n]
        return u

    def _generate(self, reqs: list[ChatRequest]) -> list[list[int]]:
        """Every request's new tokens (up to its first end of sentence, or
        more: _finish cuts them)."""
        from transformers import StaticCache

        from .model import sample

        e = self.e
        dev = e.device
        B = len(reqs)
        max_n = max(r.length for r in reqs)
        embeds, mask2d, position_ids = self._prefill_inputs(reqs)
        L = mask2d.shape[1]
        C = L + max_n
        cache = StaticCache(config=e.lm.config, max_cache_len=C)
        kind = e._mask_kind
        if kind == "2d":
            mask = torch.zeros((B, C), dtype=torch.long, device=dev)
            mask[:, :L] = mask2d
        elif kind == "bool":
            mask = torch.zeros((B, 1, 1, C), dtype=torch.bool, device=dev)
            mask[:, 0, 0, :L] = mask2d.bool()
        else:
            mask = torch.full((B, 1, 1, C), torch.finfo(e._embed_dtype).min, dtype=e._embed_dtype, device=dev)
            mask[:, 0, 0, :L].masked_fill_(mask2d.bool(), 0.0)
        temps = torch.tensor([r.temperature for r in reqs], dtype=torch.float32, device=dev)
        top_k = torch.tensor([r.top_k for r in reqs], dtype=torch.long, device=dev)
        top_p = torch.tensor([r.top_p for r in reqs], dtype=torch.float32, device=dev)
        use_top_k = any(r.top_k > 0 for r in reqs)
        use_top_p = any(r.top_p < 1.0 for r in reqs)
        uniforms = self._uniforms(reqs, max_n).to(dev)
        eos = torch.tensor(self.eos_ids, dtype=torch.long, device=dev)
        # --chat-answer-tokens: the step (0-based) at which each row's end of
        # sentence is forced, -1 for none; forced_steps says when to look.
        forced = [r.answer_tokens - 1 if 0 < r.answer_tokens <= r.max_tokens else -1 for r in reqs]
        forced_steps = {s for s in forced if s >= 0}
        force_at = torch.tensor(forced, dtype=torch.long, device=dev) if forced_steps else None
        eos_fill = torch.full((B,), self.eos_ids[0], dtype=torch.long, device=dev) if forced_steps else None
        # ... and those rows sample among the ids that decode to visible text.
        text_only = None
        if any(r.answer_tokens > 0 for r in reqs):
            rows = torch.tensor([r.answer_tokens > 0 for r in reqs], dtype=torch.bool, device=dev)
            text_only = rows[:, None] & self.blocked_ids()[None, :]
        generated = torch.zeros((B, max_n), dtype=torch.long, device=dev)
        pos = position_ids[:, -1:] + 1
        write = torch.full((1,), L, dtype=torch.long, device=dev)

        out = e.lm(inputs_embeds=embeds, attention_mask=mask2d, position_ids=position_ids,
                   use_cache=True, **{e._cache_kw: cache})
        h = out.last_hidden_state[:, -1, :]
        del out, embeds
        check_every = 1 if dev.type == "cpu" else 8
        limits = [r.length for r in reqs]
        stops = [r.stop for r in reqs]
        ignore = [r.ignore_eos or r.answer_tokens > 0 for r in reqs]
        finished = [False] * B
        step = 0
        while True:
            logits = self.lm_head(h).float()
            if text_only is not None:
                logits.masked_fill_(text_only, float("-inf"))
            nxt = sample(logits, temps, top_k, top_p, uniforms[:, step], use_top_k, use_top_p)
            if step in forced_steps:
                nxt = torch.where(force_at == step, eos_fill, nxt)
            generated[:, step] = nxt
            step += 1
            if step >= max_n:
                break
            if step % check_every == 0 and self._all_finished(generated, step, limits, stops, finished, ignore):
                break
            emb = e.text_embed(nxt[:, None])
            if kind == "2d":
                mask[:, L + step - 1] = 1
                m = mask[:, :L + step]
            else:
                mask.index_fill_(3, write, True if kind == "bool" else 0.0)
                m = mask
            out = e.lm(inputs_embeds=emb, attention_mask=m, position_ids=pos, use_cache=True,
                       **{e._cache_kw: cache})
            pos.add_(1)
            write.add_(1)
            h = out.last_hidden_state[:, -1, :]
            del out
        gen = generated[:, :step].cpu().tolist()
        return [g[:r.length] for g, r in zip(gen, reqs)]

    def _all_finished(self, generated, step, limits, stops, finished, ignore) -> bool:
        """Whether every item has met its end: an end-of-sentence token, a
        stop string or its token limit (checks only; _finish decides)."""
        gen = generated[:, :step].cpu().tolist()
        eos = set(self.eos_ids)
        for i, toks in enumerate(gen):
            if finished[i]:
                continue
            toks = toks[:limits[i]]
            if len(toks) >= limits[i] or (not ignore[i] and any(t in eos for t in toks)):
                finished[i] = True
            elif stops[i]:
                text = self.decode_text(toks)
                finished[i] = any(s in text for s in stops[i])
        return all(finished)

    def _finish(self, r: ChatRequest, toks: list[int]) -> ChatResult:
        """The answer from the new tokens: cut at the first end of sentence,
        then at the first stop string; usage counts the tokens up to and
        including the one that ended the answer. With a fixed answer length
        (r.answer_tokens) the end is that token, forced, whatever came before."""
        if r.answer_tokens > 0 and not r.ignore_eos:
            end = r.answer_tokens - 1 if len(toks) >= r.answer_tokens else None
        else:
            eos = set() if r.ignore_eos else set(self.eos_ids)
            end = next((k for k, t in enumerate(toks) if t in eos), None)
        body = toks if end is None else toks[:end]
        text = self.decode_text(body)
        cut = None
        for s in r.stop:
            k = text.find(s)
            if k >= 0 and (cut is None or k < cut):
                cut = k
        if cut is not None:
            # The fewest tokens whose text holds a stop string (the text only grows with tokens).
            lo, hi = 1, len(body)
            while lo < hi:
                mid = (lo + hi) // 2
                t = self.decode_text(body[:mid])
                if any(s in t for s in r.stop):
                    hi = mid
                else:
                    lo = mid + 1
            return ChatResult(text=text[:cut].strip(), finish_reason="stop", prompt_tokens=len(r.ids),
                              completion_tokens=lo)
        if end is not None:
            return ChatResult(text=text.strip(), finish_reason="stop", prompt_tokens=len(r.ids),
                              completion_tokens=end + 1)
        return ChatResult(text=text.strip(), finish_reason="length", prompt_tokens=len(r.ids),
                          completion_tokens=len(toks))
