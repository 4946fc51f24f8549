"""Checks for notebook 06 (generation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ...config import PRESETS, LlamaConfig
from ...generate import Sampling, generate, next_token_probs
from ...model import Llama
from .base import ExerciseError, call, check_cases, generator


def check_greedy_decode(fn: Callable[[Any, list[int], int], list[int]]) -> None:
    """``fn(model, prompt_ids, n)`` must return the ``n`` ids greedy decoding appends (no cache needed)."""
    torch.manual_seed(14)
    model = Llama(LlamaConfig(vocab_size=50, dim=32, n_layers=2, n_heads=4, max_seq_len=40))
    for prompt, n in (([1, 7, 3], 12), ([1], 5), ([1, 9, 9, 9], 20)):
        got = call("greedy_decode", fn, model, list(prompt), n)
        expected = generate(model, prompt, n, temperature=0)
        got = [int(t) for t in got] if isinstance(got, (list, tuple, torch.Tensor)) else got
        if got != expected:
            raise ExerciseError(f"greedy_decode(model, {prompt}, {n}) returned {got}; expected {expected}")
    print("✓ greedy_decode picks the same tokens as the package's generate(temperature=0)")


def check_top_p(fn: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """``fn(probs, p)`` must keep the most likely tokens until their mass reaches ``p`` and renormalize."""
    g = generator(15)
    cases = [(torch.tensor([0.5, 0.2, 0.15, 0.1, 0.05]), p) for p in (0.5, 0.6, 0.8, 1.0)]
    cases += [(torch.randn(30, generator=g).mul(2).softmax(-1), p) for p in (0.3, 0.9)]
    check_cases("top_p_filter", fn, lambda probs, p: next_token_probs(probs.log()[None], Sampling(top_p=p))[0],
                 cases)


def check_kv_cache_bytes(fn: Callable[[LlamaConfig, int, int], int]) -> None:
    """``fn(config, seq_len, bytes_per_value)`` must be the KV cache's size for one sequence of ``seq_len``."""
    n = 0
    for name in ("tiny", "llama2-7b", "llama2-70b", "llama3-8b"):
        config = PRESETS[name]
        for seq_len, size in ((config.max_seq_len, 2), (1000, 4)):
            expected = 2 * config.n_layers * config.n_kv_heads * config.head_dim * seq_len * size
            got = call("kv_cache_bytes", fn, config, seq_len, size)
            if got != expected:
                raise ExerciseError(f"kv_cache_bytes({name}, seq_len={seq_len}, bytes_per_value={size}) = {got!r}; "
                                    f"expected {expected:,}")
            n += 1
    print(f"✓ kv_cache_bytes is right for {n} cases (4 presets, two lengths and precisions)")

