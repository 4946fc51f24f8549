"""Checks for notebooks 02 (attention) and 03 (multi-head attention, RoPE, GQA)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ...attention import Attention, attention, causal_mask
from ...config import LlamaConfig
from ...rope import apply_rope, precompute_rope
from .base import ExerciseError, call, check_cases, compare, describe, generator


def check_softmax(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """``fn(x)`` must be the softmax over the last dimension, and stay finite for large inputs."""
    g = generator(8)
    cases = [(torch.randn(5, generator=g),), (torch.randn(3, 7, generator=g) * 4,),
             (torch.tensor([1000.0, 1001.0, 999.0]),), (torch.tensor([[-1e4, 0.0, 1e4]]),)]
    check_cases("softmax", fn, lambda x: torch.softmax(x, dim=-1), cases)


def check_attention(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(q, k, v, mask)`` must return softmax(q k^T / sqrt(d_k), masked) @ v (mask True = may attend)."""
    g = generator(9)
    cases = []
    for batch, q_len, k_len, d_k, d_v in [((), 4, 4, 8, 8), ((2,), 5, 5, 16, 4), ((2, 3), 3, 6, 8, 8)]:
        cases.append((torch.randn(*batch, q_len, d_k, generator=g), torch.randn(*batch, k_len, d_k, generator=g),
                      torch.randn(*batch, k_len, d_v, generator=g), causal_mask(q_len, k_len)))
    check_cases("my_attention", fn, lambda q, k, v, mask: attention(q, k, v, mask)[0], cases)


def check_rope(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """``fn(x, cos, sin)`` must rotate each pair (x[..., 2i], x[..., 2i+1]) by the angle whose cosine and
    sine are ``cos[t, i]`` and ``sin[t, i]`` at position t (``x`` is (..., seq, d); cos, sin (seq, d/2))."""
    g = generator(10)
    cases = []
    for shape, theta in [((5, 8), 10000.0), ((2, 3, 7, 16), 10000.0), ((1, 12, 4), 500000.0)]:
        cos, sin = precompute_rope(shape[-1], shape[-2], theta)
        cases.append((torch.randn(shape, generator=g), cos, sin))
    check_cases("apply_rotary", fn, apply_rope, cases)


def check_multi_head_attention(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(x, wq, wk, wv, wo, n_heads)`` must be causal multi-head self-attention (no RoPE) with
    ``nn.Linear``-layout weights: project, split into heads, attend per head, join, project out."""
    g = generator(11)
    cases = []
    for batch, seq, dim, heads in [(1, 5, 16, 2), (2, 7, 32, 4), (3, 4, 24, 3)]:
        weights = [torch.randn(dim, dim, generator=g) / dim**0.5 for _ in range(4)]
        cases.append((torch.randn(batch, seq, dim, generator=g), *weights, heads))

    def reference(x, wq, wk, wv, wo, n_heads):
        config = LlamaConfig(vocab_size=1, dim=x.size(-1), n_layers=1, n_heads=n_heads, max_seq_len=x.size(1))
        module = Attention(config)
        for layer, w in zip((module.wq, module.wk, module.wv, module.wo), (wq, wk, wv, wo), strict=True):
            layer.weight.data.copy_(w)
        no_rotation = torch.ones(x.size(1), config.head_dim // 2), torch.zeros(x.size(1), config.head_dim // 2)
        with torch.no_grad():
            return module(x, *no_rotation)

    check_cases("multi_head_attention", fn, reference, cases)



def check_causal_attention(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """``fn(q, k, v)`` must build the causal mask itself and attend; with ``k_len > q_len`` the queries are
    the last ``q_len`` positions (decoding with a cache), so query ``i`` sees keys ``0 .. k_len - q_len + i``."""
    g = generator(12)
    cases = []
    for batch, q_len, k_len, d_k, d_v in [((), 4, 4, 8, 8), ((2,), 5, 5, 16, 4), ((2, 3), 3, 6, 8, 8),
                                          ((1, 2), 1, 7, 8, 8), ((2,), 4, 9, 16, 16)]:
        cases.append((torch.randn(*batch, q_len, d_k, generator=g), torch.randn(*batch, k_len, d_k, generator=g),
                      torch.randn(*batch, k_len, d_v, generator=g)))

    def top_left(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return attention(q, k, v, torch.ones(q.size(-2), k.size(-2), dtype=torch.bool).tril())[0]

    mistakes = [
        (lambda q, k, v: attention(q, k, v)[0],
         "matches attention with no mask at all: every query also sees the keys after it. Build a (q_len, k_len) "
         "boolean mask, True where a query may look, and fill the other scores with -inf before the softmax"),
        (top_left,
         "uses a mask aligned at the top left, torch.tril(torch.ones(q_len, k_len)), which is right only when "
         "q_len == k_len. The queries are the LAST q_len positions: query i sits at position k_len - q_len + i, "
         "so shift the diagonal by k_len - q_len (tril takes a diagonal argument)"),
        (lambda q, k, v: attention(q * math.sqrt(q.size(-1)), k, v, causal_mask(q.size(-2), k.size(-2)))[0],
         "is masked correctly but not scaled: divide the scores by sqrt(d_k)"),
    ]
    for q, k, v in cases:
        got = call("causal_attention", fn, q, k, v)
        expected = attention(q, k, v, causal_mask(q.size(-2), k.size(-2)))[0]
        comparable = isinstance(got, torch.Tensor) and got.shape == expected.shape
        if comparable and not torch.allclose(got, expected, atol=1e-5):
            for mistake, message in mistakes:
                if torch.allclose(got, mistake(q, k, v), atol=1e-5):
                    raise ExerciseError(f"causal_attention({describe((q, k, v))}) {message}")
        compare("causal_attention", got, expected, (q, k, v))
    print(f"✓ causal_attention matches the reference on {len(cases)} random inputs "
          "(q_len == k_len, q_len < k_len, with batch and head dimensions)")
