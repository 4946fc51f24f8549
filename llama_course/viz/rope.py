"""Pictures of RoPE: pairs of dimensions turning with position, and scores that depend only on distance."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..rope import apply_rope, precompute_rope, rope_frequencies
from .arguments import checked_index, checked_positions
from .labels import with_fonts


def rope_pair_points(
    head_dim: int = 8,
    positions: Iterable[int] = range(8),
    pair: int = 0,
    theta: float = 10000.0,
    vector: torch.Tensor | None = None,
) -> torch.Tensor:
    """Where RoPE moves pair ``pair`` of ``vector`` (default: the unit vector along x[2 * pair]) at each
    position, as a (len(positions), 2) tensor."""
    positions = checked_positions(positions)
    pair = checked_index(pair, max(head_dim // 2, 1), "pair")
    cos, sin = precompute_rope(head_dim, max(positions) + 1, theta)
    if vector is None:
        vector = torch.zeros(head_dim)
        vector[2 * pair] = 1.0
    elif vector.shape != (head_dim,):
        raise ValueError(f"vector must have shape ({head_dim},), got {tuple(vector.shape)}")
    x = vector.float().expand(len(positions), head_dim)
    return apply_rope(x, cos[positions], sin[positions])[:, 2 * pair : 2 * pair + 2]


def draw_rotations(
    ax: Axes, points: torch.Tensor, positions: Sequence[int], colors: Sequence[Any], name: str = "m"
) -> None:
    """Draw on ``ax`` arrows from the origin to 2-D points (one RoPE pair, unit length) with the unit circle,
    labelled ``{name}={position}``; consecutive arrows that point the same way share one label ("m=0…7")."""
    circle = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(circle), np.sin(circle), color="0.75", linestyle="--", linewidth=0.8)
    xy = points.numpy()
    ax.quiver(np.zeros(len(xy)), np.zeros(len(xy)), xy[:, 0], xy[:, 1], color=colors, angles="xy",
              scale_units="xy", scale=1, width=0.012)
    angles = np.arctan2(xy[:, 1], xy[:, 0])
    start = 0
    for i in range(1, len(xy) + 1):
        if i < len(xy) and abs(math.remainder(angles[i] - angles[start], 2 * math.pi)) < 0.25:
            continue  # this arrow points the same way as the first of the run: it shares that label
        label = f"{name}={positions[start]}" + (f"…{positions[i - 1]}" if i - 1 > start else "")
        ax.text(1.22 * xy[start, 0], 1.22 * xy[start, 1], label, ha="center", va="center", fontsize=8,
                color=colors[start])
        start = i
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.45, 1.45)
    ax.set_box_aspect(1)
    ax.axhline(0, color="0.85", linewidth=0.6)
    ax.axvline(0, color="0.85", linewidth=0.6)


@with_fonts
def rope_rotation(
    head_dim: int = 8, positions: Iterable[int] = range(8), pair: int = 0, theta: float = 10000.0
) -> Figure:
    """A query pair rotated by its position: arrows for each position, for pair ``pair`` and, for contrast,
    the slowest pair (or the fastest, when ``pair`` is the slowest). The angle at position m is m * theta_i."""
    positions = checked_positions(positions)
    freqs = rope_frequencies(head_dim, theta)
    pair = checked_index(pair, len(freqs), "pair")
    other = len(freqs) - 1 if pair != len(freqs) - 1 else 0
    fig = Figure(figsize=(8.0, 4.8), layout="constrained")
    colors = [f"C{i % 10}" if len(positions) <= 10 else "C0" for i in range(len(positions))]
    for ax, i in zip(fig.subplots(1, 2), (pair, other), strict=True):
        points = rope_pair_points(head_dim, positions, i, theta)
        draw_rotations(ax, points, positions, colors)
        speed = float(freqs[i])
        ax.set_title(f"pair {i}: θ_{i} = {speed:.3g} rad/position\none turn every {2 * math.pi / speed:.3g} positions",
                     fontsize=9)
        ax.set_xlabel(f"x[{2 * i}]")
        ax.set_ylabel(f"x[{2 * i + 1}]")
    fig.suptitle(f"RoPE turns each pair of a query by m·θ_i (head_dim {head_dim}, base {theta:g})", fontsize=10)
    return fig


def rope_relative_values(
    head_dim: int = 64,
    max_distance: int = 64,
    theta: float = 10000.0,
    seed: int = 0,
    offsets: Sequence[int] = (0, 20, 500),
    samples: int = 256,
) -> dict[str, torch.Tensor]:
    """The numbers behind :func:`rope_relative`.

    ``scores[j, d]`` is the dot product of a random query rotated to position ``offsets[j] + d`` with a random
    key rotated to ``offsets[j]``: RoPE makes it the same for every offset. ``decay[d]`` is the mean |x_m . x_n|
    of a vector with itself d positions away, over ``samples`` random vectors, relative to d = 0. ``query`` and
    ``key`` are the random vectors (before rotation).
    """
    if not isinstance(max_distance, int) or max_distance < 1:
        raise ValueError(f"max_distance must be a positive integer, got {max_distance!r}")
    offsets = checked_positions(offsets, "offsets")
    gen = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, head_dim, generator=gen)
    distances = torch.arange(max_distance + 1)
    cos, sin = precompute_rope(head_dim, max(offsets) + max_distance + 1, theta)
    scores = []
    for o in offsets:
        key = apply_rope(k[None], cos[o : o + 1], sin[o : o + 1])[0]
        queries = apply_rope(q.expand(len(distances), head_dim), cos[o + distances], sin[o + distances])
        scores.append(queries @ key)
    x = torch.randn(samples, 1, head_dim, generator=gen)
    moved = apply_rope(x.expand(samples, len(distances), head_dim), cos[distances], sin[distances])
    similarity = (moved * x).sum(-1).abs().mean(0)
    return {"distances": distances, "offsets": torch.tensor(offsets), "scores": torch.stack(scores),
            "decay": similarity / similarity[0], "query": q, "key": k}


@with_fonts
def rope_relative(
    head_dim: int = 64,
    max_distance: int = 64,
    theta: float = 10000.0,
    seed: int = 0,
    offsets: Sequence[int] = (0, 20, 500),
) -> Figure:
    """Left: q.k after RoPE against the distance between q and k, measured at several absolute positions; the
    curves lie on top of each other. Right: how |q.k| of a vector with itself fades with distance, on average."""
    values = rope_relative_values(head_dim, max_distance, theta, seed, offsets)
    d = values["distances"].numpy()
    fig = Figure(figsize=(10.0, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    styles = ["-", "--", ":", "-."]
    for j, (offset, row) in enumerate(zip(values["offsets"].tolist(), values["scores"], strict=True)):
        left.plot(d, row.numpy(), linestyle=styles[j % 4], linewidth=3.0 - 0.7 * min(j, 3),
                  label=f"key at {offset}, query at {offset} + distance")
    left.set_xlabel("distance m − n (positions)")
    left.set_ylabel("q_m · k_n after RoPE")
    left.set_title("the score depends only on the distance", fontsize=10)
    left.legend(fontsize=7)
    right.plot(d, values["decay"].numpy(), color="C3")
    right.set_xlabel("distance (positions)")
    right.set_ylabel("mean |x_m · x_n|, relative to distance 0")
    right.set_title("same content further away scores lower", fontsize=10)
    right.set_ylim(0, 1.05)
    fig.suptitle(f"RoPE's relative-position property (head_dim {head_dim}, base {theta:g})", fontsize=10)
    return fig

