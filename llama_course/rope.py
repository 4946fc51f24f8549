"""Rotary position embeddings (RoPE; Su et al. 2021), as LLaMA applies them to queries and keys.

Each head vector is cut into pairs ``(x[2i], x[2i+1])``; the pair at position ``m`` is rotated by
the angle ``m * theta_i`` with ``theta_i = base ** (-2i / head_dim)``. Rotating both q and k makes
their dot product depend only on the distance between their positions.
"""

from __future__ import annotations

import math

import torch

from .config import RopeScaling


def rope_frequencies(head_dim: int, theta: float = 10000.0, scaling: RopeScaling | None = None) -> torch.Tensor:
    """The ``head_dim / 2`` rotation speeds ``theta_i`` (radians per position), fastest first."""
    if head_dim <= 0 or head_dim % 2:
        raise ValueError(f"head_dim must be a positive even number, got {head_dim}")
    freqs = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    if scaling is not None:
        freqs = _llama3_scale(freqs, scaling)
    return freqs.float()


def _llama3_scale(freqs: torch.Tensor, s: RopeScaling) -> torch.Tensor:
    """Llama 3.1's frequency scaling: long wavelengths slowed by ``factor``, short ones kept."""
    wavelength = 2 * math.pi / freqs
    low_freq_wavelength = s.original_max_seq_len / s.low_freq_factor
    high_freq_wavelength = s.original_max_seq_len / s.high_freq_factor
    smooth = (s.original_max_seq_len / wavelength - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor)
    blended = (1 - smooth) * freqs / s.factor + smooth * freqs
    scaled = torch.where(wavelength > low_freq_wavelength, freqs / s.factor, blended)
    return torch.where(wavelength < high_freq_wavelength, freqs, scaled)


def precompute_rope(
    head_dim: int, max_seq_len: int, theta: float = 10000.0, scaling: RopeScaling | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosines and sines of every angle ``m * theta_i``, each of shape ``(max_seq_len, head_dim / 2)``."""
    positions = torch.arange(max_seq_len, dtype=torch.float64)
    angles = torch.outer(positions, rope_frequencies(head_dim, theta, scaling).double())
    return angles.cos().float(), angles.sin().float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair ``(x[..., 2i], x[..., 2i+1])`` of ``x`` (..., seq, head_dim) by its angle.

    ``cos`` and ``sin`` are ``(seq, head_dim / 2)``: the rows for the positions ``x`` holds.
    """
    pairs = x.float().unflatten(-1, (-1, 2))
    x_even, x_odd = pairs[..., 0], pairs[..., 1]
    rotated = torch.stack((x_even * cos - x_odd * sin, x_even * sin + x_odd * cos), dim=-1)
    return rotated.flatten(-2).type_as(x)


def position_interpolation(factor: float, original_max_seq_len: int) -> RopeScaling:
    """Position interpolation (Chen et al. 2023) as a :class:`RopeScaling`: every frequency divided by ``factor``,
    so position ``m`` gets the angles position ``m / factor`` had. It is Llama 3.1's scaling with the band of
    kept high frequencies and the blended band both empty (every wavelength, >= 2 pi, counts as long)."""
    return RopeScaling(factor=factor, low_freq_factor=float(original_max_seq_len),
                       high_freq_factor=2.0 * original_max_seq_len, original_max_seq_len=original_max_seq_len)
