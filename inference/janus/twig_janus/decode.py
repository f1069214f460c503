"""The token-by-token decode loop, eager or replayed from CUDA graphs.

One decode step (`JanusEngine._forward_step` then `JanusEngine._head_sample`)
embeds the tokens sampled last step into every row, runs the language model
for one position over the static KV cache, mixes the generation head's
logits for classifier-free guidance and samples the next token of every item.
Its inputs and outputs live in a `DecodeState`'s device tensors, mutated in
place, with no host synchronisation: the attention mask is a 4D tensor whose
next column is switched on in place (so transformers builds no mask, and
checks none on the host, per step), the positions and the step counter are
device tensors, the uniforms of every item and step are on the device before
the loop, the sampled tokens go into a device buffer read once at the end.

The eager path runs the step max_n - 1 times in Python. `GraphDecoder`
captures the same step once in a `torch.cuda.CUDAGraph` and replays it: one
launch per token instead of a few hundred kernel launches from Python. A
graph has fixed shapes and fixed addresses, so:

- items are padded to a bucket (`item_bucket`: 1, 2, 4, 8, 16, then steps of
  8 up to 64, then of 16...); padding items repeat item 0 (rows are
  independent; their tokens are dropped). Every item gets an unconditional
  row when any item uses CFG (an item with cfg 1 ignores its row, as eager:
  its logits are its conditional row's, selected with torch.where);
- the KV cache length is rounded up to a multiple of 64 (`length_bucket`);
- a graph is kept per (item bucket, cache length bucket, sampling flags) and
  reused by later batches of the same shape (at most `max_graphs`, least
  recently used dropped);
- every graph's KV cache is a view at the start of one shared buffer per
  layer (the "slab"), sized for the largest batch seen (its cache length for
  a full image at that prompt length, so the bands of an image do not regrow
  it); batches run one at a time, so the graphs can share it. Growing it
  drops the graphs (they point at the old one).

The prefill (one forward pass of a variable length) and the first token stay
eager. Sampling is the same code (`model.sample`) in both paths, and the
uniforms are drawn per item from its own generator before the loop, as
before. Tokens are the eager path's unless padding changes a matrix shape
enough for the GPU to pick another kernel (see the README's note on batch
invariance).
"""

from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass

import torch

log = logging.getLogger("twig_janus")

LENGTH_STEP = 64


def item_bucket(n: int) -> int:
    """The padded item count for n items: powers of two up to 16, then
    multiples of 8 up to 64, then multiples of 16."""
    if n < 1:
        raise ValueError("at least one item")
    if n <= 16:
        b = 1
        while b < n:
            b *= 2
        return b
    if n <= 64:
        return -(-n // 8) * 8
    return -(-n // 16) * 16


def length_bucket(n: int, step: int = LENGTH_STEP, cap: int = 0) -> int:
    """n rounded up to a multiple of step (at most cap when cap > n)."""
    b = -(-n // step) * step
    return min(b, cap) if cap and cap >= n else b


def graph_layout(items: int, any_uncond: bool) -> tuple[int, list[int], list[bool]]:
    """(item slots, row -> item slot, row is unconditional) for a graph batch:
    slots padded to item_bucket(items), pad slots repeating item 0, and an
    unconditional row per slot after the conditional ones when any item uses CFG."""
    bp = item_bucket(items)
    slot_item = list(range(items)) + [0] * (bp - items)
    if any_uncond:
        return bp, slot_item + slot_item, [False] * bp + [True] * bp
    return bp, list(slot_item), [False] * bp


@dataclass
class DecodeState:
    """The device tensors one decode step reads and writes in place."""

    tok: torch.Tensor        # [S] long: each item slot's last token
    row_item: torch.Tensor   # [R] long: the item slot of each row
    unc_row: torch.Tensor    # [S] long: the unconditional row of each slot (any row if none)
    has_unc: torch.Tensor    # [S] bool: the slot mixes CFG
    cfg_w: torch.Tensor      # [S] float32
    temps: torch.Tensor      # [S] float32
    top_k: torch.Tensor      # [S] long
    top_p: torch.Tensor      # [S] float32
    uniforms: torch.Tensor   # [S, N] float64
    generated: torch.Tensor  # [S, N] long
    step: torch.Tensor       # [1] long: the next token's index
    mask: torch.Tensor       # [R, 1, 1, C] bool / float (4D kinds) or [R, C] long ("2d")
    pos_ids: torch.Tensor    # [R, 1] long: the next position id of each row
    write_pos: torch.Tensor  # [1] long: the cache position the next token is written to
    mask_kind: str           # "bool" (sdpa), "float" (eager attention), "2d" (others: transformers builds it)
    # Which code the step runs (fixed for a graph: part of its key).
    any_unc: bool = False
    use_top_k: bool = False
    use_top_p: bool = False
    host_len: int = 0        # "2d" only: the columns of the mask in use

    @classmethod
    def allocate(cls, *, slots: int, rows: int, cache_len: int, n_cap: int, device, mask_kind: str,
                 mask_dtype: torch.dtype) -> "DecodeState":
        def z(*shape, dtype):
            return torch.zeros(shape, dtype=dtype, device=device)

        if mask_kind == "2d":
            mask = z(rows, cache_len, dtype=torch.long)
        elif mask_kind == "bool":
            mask = z(rows, 1, 1, cache_len, dtype=torch.bool)
        else:
            mask = torch.full((rows, 1, 1, cache_len), torch.finfo(mask_dtype).min, dtype=mask_dtype,
                              device=device)
        return cls(tok=z(slots, dtype=torch.long), row_item=z(rows, dtype=torch.long),
                   unc_row=z(slots, dtype=torch.long), has_unc=z(slots, dtype=torch.bool),
                   cfg_w=z(slots, dtype=torch.float32), temps=z(slots, dtype=torch.float32),
                   top_k=z(slots, dtype=torch.long), top_p=z(slots, dtype=torch.float32),
                   uniforms=z(slots, n_cap, dtype=torch.float64), generated=z(slots, n_cap, dtype=torch.long),
                   step=z(1, dtype=torch.long), mask=mask, pos_ids=z(rows, 1, dtype=torch.long),
                   write_pos=z(1, dtype=torch.long), mask_kind=mask_kind)

    def fill(self, *, slot_reqs, row_item, unc_row, has_unc, uniforms: torch.Tensor, mask2d: torch.Tensor,
             position_ids: torch.Tensor) -> None:
        """Sets the state for a new batch after its prefill (mask2d, position_ids: the prefill's)."""
        dev = self.tok.device
        self.tok.zero_()
        self.row_item.copy_(torch.tensor(row_item, dtype=torch.long))
        self.unc_row.copy_(torch.tensor(unc_row, dtype=torch.long))
        self.has_unc.copy_(torch.tensor(has_unc, dtype=torch.bool))
        self.cfg_w.copy_(torch.tensor([r.cfg for r in slot_reqs], dtype=torch.float32))
        self.temps.copy_(torch.tensor([r.temperature for r in slot_reqs], dtype=torch.float32))
        self.top_k.copy_(torch.tensor([r.top_k for r in slot_reqs], dtype=torch.long))
        self.top_p.copy_(torch.tensor([r.top_p for r in slot_reqs], dtype=torch.float32))
        self.uniforms.fill_(0.5)
        self.uniforms[:uniforms.shape[0], :uniforms.shape[1]].copy_(uniforms.to(dev))
        self.step.zero_()
        L = mask2d.shape[1]
        if self.mask_kind == "2d":
            self.mask.zero_()
            self.mask[:, :L].copy_(mask2d)
            self.host_len = L
        elif self.mask_kind == "bool":
            self.mask.zero_()
            self.mask[:, 0, 0, :L].copy_(mask2d.bool())
        else:
            lo = torch.finfo(self.mask.dtype).min
            self.mask.fill_(lo)
            self.mask[:, 0, 0, :L].masked_fill_(mask2d.bool(), 0.0)
        self.pos_ids.copy_(position_ids[:, -1:] + 1)
        self.write_pos.fill_(L)


class _Slot:
    def __init__(self, key, state: DecodeState, cache):
        self.key = key
        self.state = state
        self.cache = cache
        self.graph = None


class GraphDecoder:
    """Decodes batches with CUDA graphs (see the module doc). `emulate=True`
    runs the same padded, slab-backed path with the step called eagerly
    instead of replayed: the tests use it on a CPU."""

    def __init__(self, engine, *, emulate: bool = False, max_graphs: int = 64):
        self.e = engine
        self.emulate = emulate
        self.max_graphs = max_graphs
        cfg = engine.lm.config
        self.layers = int(cfg.num_hidden_layers)
        self.kv_heads = int(getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads)
        self.head_dim = int(getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads)
        self.kv_dtype = engine.lm.layers[0].self_attn.k_proj.weight.dtype
        self.slab_k: list[torch.Tensor] = []
        self.slab_v: list[torch.Tensor] = []
        self.capacity = 0  # row-positions (rows x cache length) each slab tensor holds
        self.slots: collections.OrderedDict = collections.OrderedDict()
        self.pool = None
        self.disabled = False
        self.captures = 0
        self.capture_seconds = 0.0
        self.replays = 0
        self.batches = 0

    # ------------------------------------------------------------ memory

    def slab_gib(self) -> float:
        return 2 * self.layers * self.capacity * self.kv_heads * self.head_dim * self.kv_dtype.itemsize / 2**30

    def stats(self) -> dict:
        return {"graphs": sum(1 for s in self.slots.values() if s.graph is not None), "captures": self.captures,
                "capture_seconds": round(self.capture_seconds, 3), "replays": self.replays,
                "batches": self.batches, "kv_slab_gib": round(self.slab_gib(), 2), "disabled": self.disabled}

    def release(self) -> None:
        """Drops every graph and the slab."""
        self.slots.clear()
        self.slab_k, self.slab_v = [], []
        self.capacity = 0
        self.pool = None
        if self.e.device.type == "cuda":
            torch.cuda.synchronize(self.e.device)
            torch.cuda.empty_cache()

    def _ensure_slab(self, need: int, want: int) -> None:
        """Makes the slab hold at least need row-positions (want if that fits)."""
        if need <= self.capacity:
            return
        self.release()
        per = self.kv_heads * self.head_dim
        for size in dict.fromkeys((max(want, need), need)):
            try:
                self.slab_k = [torch.zeros(size * per, dtype=self.kv_dtype, device=self.e.device)
                               for _ in range(self.layers)]
                self.slab_v = [torch.zeros(size * per, dtype=self.kv_dtype, device=self.e.device)
                               for _ in range(self.layers)]
                self.capacity = size
                log.info("cuda graphs: KV cache buffer for %d row-positions (%.2f GiB)", size, self.slab_gib())
                return
            except torch.OutOfMemoryError:
                self.slab_k, self.slab_v = [], []
                if self.e.device.type == "cuda":
                    torch.cuda.empty_cache()
                if size == need:
                    raise

    def _cache(self, rows: int, cache_len: int):
        from transformers import StaticCache

        cache = StaticCache(config=self.e.lm.config, max_cache_len=cache_len)
        n = rows * self.kv_heads * cache_len * self.head_dim
        shape = (rows, self.kv_heads, cache_len, self.head_dim)
        for i, layer in enumerate(cache.layers):
            k = self.slab_k[i][:n].view(shape)
            v = self.slab_v[i][:n].view(shape)
            # lazy_initialization sets whatever attributes this transformers version
            # keeps (device, heads, dims, the position counter on the device); with
            # max_cache_len 0 it allocates nothing; then the slab views replace its tensors.
            layer.max_cache_len = 0
            layer.lazy_initialization(k[:, :, :0], v[:, :, :0])
            layer.max_cache_len = cache_len
            layer.keys, layer.values = k, v
        return cache

    # ------------------------------------------------------------ decoding

    def _slot(self, key, slots: int, rows: int, cache_len: int, n_cap: int) -> _Slot:
        slot = self.slots.get(key)
        if slot is not None:
            self.slots.move_to_end(key)
            return slot
        state = DecodeState.allocate(slots=slots, rows=rows, cache_len=cache_len, n_cap=n_cap,
                                     device=self.e.device, mask_kind=self.e._mask_kind,
                                     mask_dtype=self.e._embed_dtype)
        slot = _Slot(key, state, self._cache(rows, cache_len))
        self.slots[key] = slot
        while len(self.slots) > self.max_graphs:
            self.slots.popitem(last=False)
        return slot

    def _body(self, slot: _Slot) -> None:
        h = self.e._forward_step(slot.state, slot.cache)
        self.e._head_sample(slot.state, h)

    def _capture(self, slot: _Slot) -> None:
        st = slot.state
        # A harmless state for the warm-up runs: position 0 visible, counters at 0.
        for layer in slot.cache.layers:
            layer.cumulative_length.zero_()
        st.step.zero_()
        st.write_pos.zero_()
        st.tok.zero_()
        st.pos_ids.zero_()
        st.uniforms.fill_(0.5)
        t0 = time.perf_counter()
        dev = self.e.device
        torch.cuda.synchronize(dev)
        stream = torch.cuda.Stream(device=dev)
        stream.wait_stream(torch.cuda.current_stream(dev))
        with torch.cuda.stream(stream):
            for _ in range(2):  # lazy initialisations (cuBLAS workspaces, ...) happen outside the capture
                self._body(slot)
        torch.cuda.current_stream(dev).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        # thread_local: the codec's threads may call CUDA meanwhile (they also wait on _vq_lock).
        with torch.cuda.graph(graph, pool=self.pool, capture_error_mode="thread_local"):
            self._body(slot)
        if self.pool is None:
            self.pool = graph.pool()
        slot.graph = graph
        self.captures += 1
        self.capture_seconds += time.perf_counter() - t0
        log.info("cuda graphs: captured the decode step for %d item slots, %d rows, cache length %d "
                 "(%.2fs; %d graphs)", st.tok.shape[0], st.row_item.shape[0], st.mask.shape[-1],
                 time.perf_counter() - t0, sum(1 for s in self.slots.values() if s.graph is not None))

    def generate(self, reqs, text_ids) -> list[list[int]]:
        e = self.e
        B = len(reqs)
        any_unc = any(r.cfg != 1.0 for r in reqs)
        slots, row_item, row_unc = graph_layout(B, any_unc)
        slot_reqs = [reqs[i] for i in row_item[:slots]]
        rows = len(row_item)
        max_n = max(r.n for r in reqs)
        row_ids = [e._uncond_ids(text_ids[i]) if u else text_ids[i] for i, u in zip(row_item, row_unc)]
        L = max(len(row_ids[j]) + len(reqs[row_item[j]].prior) for j in range(rows))
        cap = e.max_positions or 0
        cache_len = length_bucket(L + max_n, cap=cap)
        # Room for a whole image at this prompt length: the later bands fit without regrowing.
        full = length_bucket(max(len(t) for t in row_ids) + e.num_tokens, cap=cap)
        self._ensure_slab(rows * cache_len, rows * max(full, cache_len))
        use_top_k = any(r.top_k > 0 for r in reqs)
        use_top_p = any(r.top_p < 1.0 for r in reqs)
        key = (slots, rows, cache_len, use_top_k, use_top_p)
        slot = self._slot(key, slots, rows, cache_len, e.num_tokens)
        st = slot.state
        st.any_unc, st.use_top_k, st.use_top_p = any_unc, use_top_k, use_top_p

        ctx = torch.cuda.device(e.device) if e.device.type == "cuda" else _nullcontext()
        with ctx:
            if slot.graph is None and not self.emulate:
                with e._vq_lock:
                    self._capture(slot)
            embeds, mask2d, position_ids = e._prefill_inputs(reqs, text_ids, row_item, row_ids)
            unc_row = [slots + i if any_unc else i for i in range(slots)]
            has_unc = [any_unc and r.cfg != 1.0 for r in slot_reqs]
            st.fill(slot_reqs=slot_reqs, row_item=row_item, unc_row=unc_row, has_unc=has_unc,
                    uniforms=e._uniforms(reqs, max_n), mask2d=mask2d, position_ids=position_ids)
            for layer in slot.cache.layers:
                layer.cumulative_length.zero_()
            out = e.lm(inputs_embeds=embeds, attention_mask=mask2d, position_ids=position_ids,
                       use_cache=True, **{e._cache_kw: slot.cache})
            e._head_sample(st, out.last_hidden_state[:, -1, :])
            del out, embeds
            for _ in range(max_n - 1):
                if self.emulate:
                    self._body(slot)
                else:
                    slot.graph.replay()
            self.replays += max_n - 1
            self.batches += 1
            gen = st.generated[:B, :max_n].cpu().tolist()
        return [gen[i][:r.n] for i, r in enumerate(reqs)]


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
