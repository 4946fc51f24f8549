"""Choosing a model size: a power law fitted to measured losses, the compute frontier, and the arithmetic of
training against inference cost (Kaplan et al. 2020; Hoffmann et al. 2022, "Chinchilla"; Touvron et al. 2023).

Training costs about 6 FLOPs per parameter per token (forward 2, backward 4); generating costs about 2 per
parameter per token. A model that will serve many tokens is worth training past the compute-optimal point.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CHINCHILLA_TOKENS_PER_PARAM = 20  # Hoffmann et al. 2022: Chinchilla, 70B parameters on 1.4T tokens


def fit_power_law(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(a, b) of the least-squares line through (log x, log y), so that y ≈ a · x**b."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xs.shape != ys.shape or xs.size < 2 or (xs <= 0).any() or (ys <= 0).any():
        raise ValueError("fit_power_law needs two equally long lists of at least 2 positive numbers")
    b, log_a = np.polyfit(np.log(xs), np.log(ys), 1)
    return float(np.exp(log_a)), float(b)


def frontier(points: Sequence[tuple[float, float, int]]) -> list[tuple[float, float, int]]:
    """The (compute, loss, run) points that no point of equal or less compute beats: the lowest loss reached
    so far as compute grows, and which run reached it (Hoffmann et al.'s first approach, on a small scale)."""
    best, out = float("inf"), []
    for compute, loss, run in sorted(points):
        if loss < best:
            best = loss
            out.append((compute, loss, run))
    return out


def training_flops(n_params: float, n_tokens: float) -> float:
    """≈ 6·N·D: forward (2 per parameter per token) and backward (4)."""
    return 6.0 * n_params * n_tokens


def inference_flops(n_params: float, n_tokens: float) -> float:
    """≈ 2·N per generated (or read) token."""
    return 2.0 * n_params * n_tokens


def break_even_tokens(small: tuple[float, float], large: tuple[float, float]) -> float:
    """Tokens served at which a (params, training tokens) ``small`` model, trained longer, has cost as much in
    total (training + inference) as the ``large`` one: past it the small one is the cheaper choice."""
    (n_s, d_s), (n_l, d_l) = small, large
    if n_s >= n_l:
        raise ValueError("the first model must have fewer parameters than the second")
    extra_training = training_flops(n_s, d_s) - training_flops(n_l, d_l)
    saved_per_token = inference_flops(n_l, 1) - inference_flops(n_s, 1)
    return max(0.0, extra_training / saved_per_token)
