"""Causal self-attention with multi-head, grouped-query (GQA) and multi-query (MQA) variants.

``softmax(Q K^T / sqrt(d_k) + mask) V`` (Vaswani et al. 2017). With GQA (Ainslie et al. 2023) several
query heads share one key/value head, which shrinks the KV cache by ``n_heads / n_kv_heads``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import LlamaConfig
from .rope import apply_rope


def causal_mask(q_len: int, k_len: int | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """Boolean ``(q_len, k_len)`` mask, True where a query may look: keys at its position or before.

    The queries are the last ``q_len`` positions of the ``k_len`` keys (as when decoding with a cache).
    """
    k_len = q_len if k_len is None else k_len
    if k_len < q_len:
        raise ValueError(f"there must be at least as many keys as queries, got {k_len} keys for {q_len} queries")
    return torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(diagonal=k_len - q_len)


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """Repeat each key/value head ``n_rep`` times: (batch, kv_heads, seq, d) -> (batch, kv_heads*n_rep, seq, d)."""
    return x if n_rep == 1 else x.repeat_interleave(n_rep, dim=1)


def attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention written out; returns the output and the attention weights.

    ``q`` is (..., q_len, d_k), ``k`` and ``v`` are (..., k_len, d_k); ``mask`` is True where attending
    is allowed. The weights are (..., q_len, k_len) and each row sums to one.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.float().softmax(dim=-1).type_as(q)
    return weights @ v, weights


class KVCache:
    """Keys and values of the positions seen so far, one pair of buffers per layer.

    Prefill the prompt once, then feed one token at a time: each step only computes the new
    token's query, key and value, and attends over everything stored.
    """

    def __init__(
        self,
        config: LlamaConfig,
        batch_size: int,
        max_seq_len: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.max_seq_len = max_seq_len or config.max_seq_len
        if self.max_seq_len > config.max_seq_len:
            raise ValueError(f"cache length {self.max_seq_len} exceeds the model's max_seq_len {config.max_seq_len}")
        shape = (batch_size, config.n_kv_heads, self.max_seq_len, config.head_dim)
        self.keys = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layers)]
        self.values = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layers)]
        self.pos = 0  # how many positions are filled

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new keys/values of ``layer`` after the filled ones; return all filled so far."""
        end = self.pos + k.size(2)
        self.keys[layer][:, :, self.pos : end] = k
        self.values[layer][:, :, self.pos : end] = v
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]

    def advance(self, n: int) -> None:
        """Mark ``n`` more positions as filled (called once per forward pass, after all layers)."""
        self.pos += n

    @property
    def nbytes(self) -> int:
        """Memory the cache holds: 2 (k and v) x layers x batch x kv_heads x max_seq_len x head_dim x bytes."""
        return sum(t.numel() * t.element_size() for t in self.keys + self.values)


class Attention(nn.Module):
    """Multi-head causal self-attention with RoPE on q and k, GQA, an optional KV cache, and no biases."""

    def __init__(self, config: LlamaConfig, layer_index: int = 0) -> None:
        super().__init__()
        self.layer_index = layer_index
        self.n_heads, self.n_kv_heads, self.head_dim = config.n_heads, config.n_kv_heads, config.head_dim
        self.wq = nn.Linear(config.dim, config.n_heads * config.head_dim, bias=False)
        self.wk = nn.Linear(config.dim, config.n_kv_heads * config.head_dim, bias=False)
        self.wv = nn.Linear(config.dim, config.n_kv_heads * config.head_dim, bias=False)
        self.wo = nn.Linear(config.n_heads * config.head_dim, config.dim, bias=False)
        self.captured: list[torch.Tensor] | None = None  # set to a list to record attention weights

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: KVCache | None = None
    ) -> torch.Tensor:
        """``x`` is (batch, seq, dim); ``cos``/``sin`` hold the rotary angles of these ``seq`` positions."""
        batch, seq, _ = x.shape
        q = self.wq(x).view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.wk(x).view(batch, seq, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = self.wv(x).view(batch, seq, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            k, v = cache.update(self.layer_index, k, v)
        k_len = k.size(2)

        if self.captured is not None:  # explicit path: we need the weights
            mask = causal_mask(seq, k_len, device=x.device)
            n_rep = self.n_heads // self.n_kv_heads
            out, weights = attention(q, repeat_kv(k, n_rep), repeat_kv(v, n_rep), mask)
            self.captured.append(weights.detach())
        elif seq == k_len:  # no earlier positions: the plain causal mask
            out = F.scaled_dot_product_attention(q, k, v, is_causal=seq > 1, enable_gqa=True)
        else:  # new positions after cached ones: each sees all of the cache and its own past
            past_mask = causal_mask(seq, k_len, device=x.device) if seq > 1 else None
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=past_mask, enable_gqa=True)
        return self.wo(out.transpose(1, 2).reshape(batch, seq, -1))
