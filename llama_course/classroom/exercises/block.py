"""Checks for notebook 04 (the LLaMA block)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ...config import PRESETS, LlamaConfig
from ...model import count_params
from .base import ExerciseError, call, check_cases, generator


def rms_norm_reference(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """RMSNorm as a function (the package's :class:`~llama_course.model.RMSNorm` does the same)."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def swiglu_reference(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, w3: torch.Tensor) -> torch.Tensor:
    """SwiGLU with weight matrices in ``nn.Linear`` layout (out_features, in_features)."""
    return F.linear(F.silu(F.linear(x, w1)) * F.linear(x, w3), w2)


def check_rms_norm(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> None:
    """``fn(x, weight, eps)`` must normalise the last dimension of ``x`` by its root mean square."""
    g = generator(4)
    cases = []
    for shape, eps in [((3, 8), 1e-5), ((2, 5, 16), 1e-6), ((1, 1, 4), 1e-5), ((2, 3, 32), 0.1)]:
        scale = 10 * torch.rand((), generator=g) + 0.1
        cases.append((torch.randn(shape, generator=g) * scale, torch.randn(shape[-1], generator=g), eps))
    check_cases("rms_norm", fn, rms_norm_reference, cases)


def check_swiglu(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(x, w1, w2, w3)`` must compute ``w2(silu(w1 x) * w3 x)`` with ``nn.Linear``-layout weights."""
    g = generator(5)
    cases = []
    for batch, dim, hidden in [((4,), 8, 24), ((2, 3), 16, 40), ((1, 5), 6, 16)]:
        cases.append((
            torch.randn(*batch, dim, generator=g),
            torch.randn(hidden, dim, generator=g) / dim**0.5,
            torch.randn(dim, hidden, generator=g) / hidden**0.5,
            torch.randn(hidden, dim, generator=g) / dim**0.5,
        ))
    check_cases("swiglu", fn, swiglu_reference, cases)


def check_param_count(fn: Callable[[LlamaConfig], int]) -> None:
    """``fn(config)`` must return the number of parameters of a LLaMA with that config."""
    configs = [PRESETS[name] for name in ("tiny", "llama2-7b", "llama2-70b", "llama3-8b")]
    configs.append(LlamaConfig(vocab_size=100, dim=32, n_layers=3, n_heads=4, n_kv_heads=1, ffn_hidden=50,
                               max_seq_len=16, tie_embeddings=True))
    for config in configs:
        got, expected = call("count_llama_params", fn, config), count_params(config)
        if not isinstance(got, int) or got != expected:
            diff = f" (off by {got - expected:+,})" if isinstance(got, int) else ""
            raise ExerciseError(
                f"count_llama_params gave {got!r} for dim={config.dim}, n_layers={config.n_layers}, "
                f"n_heads={config.n_heads}, n_kv_heads={config.n_kv_heads}, hidden_dim={config.hidden_dim}, "
                f"vocab_size={config.vocab_size}, tie_embeddings={config.tie_embeddings}; "
                f"expected {expected:,}{diff}"
            )
    print(f"✓ count_llama_params is exact on {len(configs)} configs, from a 100-token toy to LLaMA-2 70B")

