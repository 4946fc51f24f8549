"""A decoder built for serving: the same LLaMA forward pass with less work around the matrix products.

At batch 1 a decoding step of a small model is mostly Python and operator overhead, and of a large one
mostly reading the weights. :class:`Decoder` cuts both, the way inference engines do:

- **fused matrices**: ``wq``, ``wk``, ``wv`` become one (dim -> q + k + v) product, ``w1`` and ``w3`` one
  (dim -> 2 x hidden); three and two weight reads become one each, and so do the operator calls;
- **quantized weights** (int8 or int4, :mod:`.quantize`), so each step reads about 4 or 6.4 times fewer bytes (faster
  only with a kernel that reads integers fast; see that module);
- ``F.rms_norm``, PyTorch's RMSNorm in one operator (the course's ``RMSNorm`` spells it out in four);
- one preallocated KV cache and no checks inside the loop (the prompt is checked once).

Its logits match :class:`~llama_course.model.Llama`'s up to float rounding; greedy decoding gives the same
tokens (tested). Runs on whichever device the model is on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from ..model import Block, Llama
from ..rope import apply_rope
from .quantize import KINDS, Int4Linear, Int8Linear


def _linear(weight: torch.Tensor, kind: str, group_size: int) -> nn.Module:
    """A bias-free linear layer holding ``weight`` as ``kind`` ("float", "int8" or "int4")."""
    if kind == "int8":
        return Int8Linear(weight)
    if kind == "int4":
        return Int4Linear(weight, group_size)
    layer = nn.Linear(weight.size(1), weight.size(0), bias=False, device=weight.device, dtype=weight.dtype)
    layer.weight.data.copy_(weight)
    return layer


class _Layer(nn.Module):
    """One Transformer block with fused projections."""

    attention_norm: torch.Tensor
    ffn_norm: torch.Tensor

    def __init__(self, block: Block, kind: str, group_size: int) -> None:
        super().__init__()
        a, f = block.attention, block.feed_forward
        self.n_heads, self.n_kv_heads, self.head_dim = a.n_heads, a.n_kv_heads, a.head_dim
        self.wqkv = _linear(torch.cat([a.wq.weight, a.wk.weight, a.wv.weight]).detach(), kind, group_size)
        self.wo = _linear(a.wo.weight.detach(), kind, group_size)
        self.w13 = _linear(torch.cat([f.w1.weight, f.w3.weight]).detach(), kind, group_size)
        self.w2 = _linear(f.w2.weight.detach(), kind, group_size)
        self.register_buffer("attention_norm", block.attention_norm.weight.detach().clone())
        self.register_buffer("ffn_norm", block.ffn_norm.weight.detach().clone())
        self.eps: float = block.attention_norm.eps

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor], keys: torch.Tensor,
                values: torch.Tensor, pos: int | torch.Tensor) -> torch.Tensor:
        batch, seq, dim = x.shape
        h = F.rms_norm(x, (dim,), self.attention_norm, self.eps)
        q, k, v = self.wqkv(h).split([self.n_heads * self.head_dim, *[self.n_kv_heads * self.head_dim] * 2], -1)
        q, k, v = (t.view(batch, seq, -1, self.head_dim) for t in (q, k, v))
        q, k = apply_rope(q.transpose(1, 2), *rope), apply_rope(k.transpose(1, 2), *rope)
        if isinstance(pos, torch.Tensor):  # one token, the whole cache masked: the same shapes at every step
            keys.index_copy_(2, pos.view(1), k)
            values.index_copy_(2, pos.view(1), v.transpose(1, 2))
            k_all, v_all = keys, values
            mask: torch.Tensor | None = (torch.arange(keys.size(2), device=x.device) <= pos)[None]
        else:  # the filled part of the cache only
            keys[:, :, pos : pos + seq], values[:, :, pos : pos + seq] = k, v.transpose(1, 2)
            k_all, v_all = keys[:, :, : pos + seq], values[:, :, : pos + seq]
            mask = None if seq == 1 else torch.ones(seq, pos + seq, dtype=torch.bool, device=x.device).tril(int(pos))
        out = F.scaled_dot_product_attention(q, k_all, v_all, attn_mask=mask, enable_gqa=True)
        x = x + self.wo(out.transpose(1, 2).reshape(batch, seq, -1))
        gate, up = self.w13(F.rms_norm(x, (dim,), self.ffn_norm, self.eps)).chunk(2, dim=-1)
        return x + self.w2(F.silu(gate) * up)


class Decoder(nn.Module):
    """``model`` prepared for fast generation with ``weights`` "float", "int8" or "int4" (groups of
    ``group_size``). ``decoder.generate(prompt_ids, n)`` continues a prompt greedily. ``compile=True`` runs the
    step through ``torch.compile`` (a warm-up of tens of seconds on a laptop CPU, then the fastest path: the
    compiler fuses the operators of each layer and, for integer weights, the dequantization into the product)."""

    embeddings: torch.Tensor
    norm: torch.Tensor
    rope_cos: torch.Tensor
    rope_sin: torch.Tensor

    def __init__(self, model: Llama, weights: str = "float", group_size: int = 32, compile: bool = False) -> None:
        super().__init__()
        if not isinstance(model, Llama):
            raise TypeError(f"Decoder serves a llama_course Llama, got {type(model).__name__}")
        if weights not in KINDS:
            raise ValueError(f"weights must be one of {KINDS}, got {weights!r}")
        self.config, self.weights = model.config, weights
        self.register_buffer("embeddings", model.tok_embeddings.weight.detach().clone())
        self.layers = nn.ModuleList(_Layer(cast(Block, block), weights, group_size) for block in model.layers)
        self.register_buffer("norm", model.norm.weight.detach().clone())
        self.output = _linear(model.output.weight.detach(), weights, group_size)
        self.register_buffer("rope_cos", model.rope_cos, persistent=False)
        self.register_buffer("rope_sin", model.rope_sin, persistent=False)
        self.compiled = compile
        self.eps = model.norm.eps
        self.step = torch.compile(self.forward) if compile else self.forward

    def forward(self, tokens: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor], pos: int) -> torch.Tensor:
        """Logits (batch, vocab) of the last of ``tokens`` (batch, seq), which sit at positions ``pos...``;
        their keys and values are written into ``cache`` (keys, values: layers x batch x kv_heads x len x d)."""
        x = F.embedding(tokens, self.embeddings)
        if isinstance(pos, torch.Tensor):
            rope = self.rope_cos.index_select(0, pos.view(1)), self.rope_sin.index_select(0, pos.view(1))
        else:
            rope = self.rope_cos[pos : pos + tokens.size(1)], self.rope_sin[pos : pos + tokens.size(1)]
        for i, layer in enumerate(self.layers):
            x = layer(x, rope, cache[0][i], cache[1][i], pos)
        return self.output(F.rms_norm(x[:, -1], (x.size(-1),), self.norm, self.eps))

    def new_cache(self, batch_size: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Empty keys and values for ``batch_size`` sequences of up to ``length`` positions."""
        c = self.config
        shape = (c.n_layers, batch_size, c.n_kv_heads, length, c.head_dim)
        return (torch.zeros(shape, dtype=self.embeddings.dtype, device=self.embeddings.device),
                torch.zeros(shape, dtype=self.embeddings.dtype, device=self.embeddings.device))

    @torch.inference_mode()
    def generate(self, prompt: Sequence[int] | Sequence[Sequence[int]], max_new_tokens: int,
                 stop_ids: Sequence[int] = ()) -> list[int] | list[list[int]]:
        """Greedy continuation of ``prompt`` (ids), or of each prompt of a batch of equal-length prompts.
        Stops after ``max_new_tokens``, when the context is full, or when every sequence has met a stop id."""
        single = not prompt or not isinstance(prompt[0], Sequence)
        ids = torch.tensor([prompt] if single else prompt, dtype=torch.long, device=self.embeddings.device)
        if ids.dim() != 2 or ids.numel() == 0:
            raise ValueError("prompt must be a non-empty list of token ids, or a list of equal-length lists of them")
        if int(ids.min()) < 0 or int(ids.max()) >= self.config.vocab_size:
            raise ValueError(f"the prompt has token ids outside the vocabulary [0, {self.config.vocab_size})")
        n = ids.size(1)
        if n >= self.config.max_seq_len:
            raise ValueError(f"the prompt is {n} tokens but the context is {self.config.max_seq_len}: "
                             "no room to generate")
        steps = min(max_new_tokens, self.config.max_seq_len - n)
        cache = self.new_cache(ids.size(0), n + steps)
        stops = torch.tensor(sorted(set(stop_ids)), dtype=torch.long, device=ids.device)
        token = self(ids, cache, 0).argmax(-1)
        out, done = [token], torch.isin(token, stops)
        for pos in range(n, n + steps - 1):
            if stops.numel() and bool(done.all()):
                break
            # compiled, the position is a 0-d tensor, so one graph serves every position
            where = torch.tensor(pos, device=ids.device) if self.compiled else pos
            token = self.step(token[:, None], cache, where).argmax(-1)  # type: ignore[arg-type]
            out.append(token)
            done |= torch.isin(token, stops)
        rows = torch.stack(out, dim=1).tolist() if steps else [[] for _ in range(ids.size(0))]
        rows = [_until_stop(row, set(stop_ids)) for row in rows]
        return rows[0] if single else rows


def _until_stop(row: list[int], stops: set[int]) -> list[int]:
    """``row`` up to and including its first stop id."""
    for i, t in enumerate(row):
        if t in stops:
            return row[: i + 1]
    return row


def matching_prefix(reference: Sequence[int], other: Sequence[int]) -> int:
    """How many tokens two greedy continuations share before they first differ (greedy agreement)."""
    pairs = zip(reference, other, strict=False)
    return next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(reference), len(other)))
