"""Checks for notebook 10 (alignment and long context)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ...rope import position_interpolation, rope_frequencies
from ...training.dpo import dpo_loss
from .base import ExerciseError, call, check_cases, compare, generator


def dpo_loss_reference(chosen: torch.Tensor, rejected: torch.Tensor, ref_chosen: torch.Tensor,
                       ref_rejected: torch.Tensor, beta: float) -> torch.Tensor:
    """The mean DPO loss of the pairs, from :func:`llama_course.training.dpo.dpo_loss`."""
    return dpo_loss(chosen, rejected, ref_chosen, ref_rejected, beta)[0]


def check_dpo_loss(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(chosen, rejected, ref_chosen, ref_rejected, beta)`` must be the mean DPO loss of the pairs, from the
    summed log-probabilities of each reply under the policy and the reference."""
    g = generator(31)
    cases = []
    for n, beta in [(1, 0.1), (5, 0.5), (16, 0.05), (8, 2.0)]:
        logps = -torch.rand(4, n, generator=g) * 40
        cases.append((*logps, beta))
    got = call("dpo_loss", fn, *cases[1])
    if isinstance(got, torch.Tensor) and got.dim() == 1:
        raise ExerciseError("dpo_loss returned one loss per pair; return their mean (a 0-dimensional tensor)")
    same = torch.zeros(3)
    at_start = call("dpo_loss", fn, same, same, same, same, 0.1)
    if isinstance(at_start, torch.Tensor) and at_start.shape == () and not torch.isclose(
            at_start, torch.tensor(0.6931), atol=1e-3):
        raise ExerciseError(f"with the policy equal to the reference every margin is 0 and the loss is log 2 = 0.6931; "
                            f"yours gave {at_start.item():.4f}")
    check_cases("dpo_loss", fn, dpo_loss_reference, cases)


def interpolated_angles_reference(positions: torch.Tensor, head_dim: int, theta: float, factor: float,
                                  original_max_seq_len: int) -> torch.Tensor:
    """RoPE angles ``(len(positions), head_dim / 2)`` under position interpolation, from the package's scaling."""
    freqs = rope_frequencies(head_dim, theta, position_interpolation(factor, original_max_seq_len))
    return torch.outer(positions.double(), freqs.double()).float()


def check_interpolated_angles(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(positions, head_dim, theta, factor)`` must give the rotation angles of position interpolation:
    position ``m`` gets the angles plain RoPE gives position ``m / factor``."""
    g = generator(32)
    n = 0
    for head_dim, theta, factor, length in [(8, 10000.0, 2.0, 16), (16, 10000.0, 4.0, 64), (32, 500000.0, 8.0, 100),
                                            (64, 10000.0, 1.5, 33)]:
        positions = torch.randperm(length * 2, generator=g)[:length]
        args = (positions, head_dim, theta, factor)
        got = call("interpolated_angles", fn, *args)
        expected = interpolated_angles_reference(positions, head_dim, theta, factor, length)
        plain = torch.outer(positions.double(), rope_frequencies(head_dim, theta).double()).float()
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and torch.allclose(got.float(), plain):
            raise ExerciseError("interpolated_angles returned the plain RoPE angles: divide the positions (or every "
                                f"frequency) by factor={factor}")
        compare("interpolated_angles", got, expected, args, atol=1e-4)
        n += 1
    print(f"✓ interpolated_angles matches position interpolation on {n} random sets of positions")
