"""Checks for notebook 05 (pretraining)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ...training.recipe import TrainConfig, lr_at
from .base import ExerciseError, call, check_cases, generator


def check_next_token_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """``fn(logits, targets)`` must be the mean cross-entropy: logits (batch, seq, vocab), targets (batch, seq)."""
    g = generator(12)
    cases = [(torch.randn(b, t, v, generator=g) * s, torch.randint(0, v, (b, t), generator=g))
             for b, t, v, s in [(1, 4, 7, 1.0), (2, 5, 11, 3.0), (3, 6, 50, 10.0)]]
    check_cases("next_token_loss", fn, lambda logits, targets: F.cross_entropy(logits.flatten(0, 1),
                                                                               targets.flatten()), cases)


def check_make_batch(fn: Callable[[torch.Tensor, list[int], int], tuple[torch.Tensor, torch.Tensor]]) -> None:
    """``fn(stream, starts, context)`` must return (inputs, targets), each (len(starts), context): the windows of
    ``stream`` at ``starts`` and the same windows one token later."""
    g = generator(13)
    n = 0
    for length, batch, context in [(20, 2, 4), (100, 5, 9), (50, 3, 1)]:
        stream = torch.randint(0, 1000, (length,), generator=g)
        starts = torch.randint(0, length - context, (batch,), generator=g).tolist()
        got = call("make_batch", fn, stream, starts, context)
        if not isinstance(got, tuple) or len(got) != 2:
            raise ExerciseError(f"make_batch should return a pair (inputs, targets), got {type(got).__name__}")
        for name, tensor, shift in zip(("inputs", "targets"), got, (0, 1), strict=True):
            expected = torch.stack([stream[s + shift : s + shift + context] for s in starts])
            if not isinstance(tensor, torch.Tensor) or tensor.shape != expected.shape:
                shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
                raise ExerciseError(f"make_batch {name}: got {shape}, expected a tensor of shape "
                                    f"{tuple(expected.shape)}")
            if not torch.equal(tensor, expected):
                row = int((tensor != expected).any(dim=1).nonzero()[0])
                raise ExerciseError(f"make_batch {name} row {row} (start {starts[row]}): got {tensor[row].tolist()}, "
                                    f"expected {expected[row].tolist()}")
            n += 1
    print(f"✓ make_batch gives the right inputs and targets on {n // 2} random streams")


def check_lr_schedule(fn: Callable[[int, float, int, int, float], float]) -> None:
    """``fn(step, max_lr, warmup_steps, total_steps, min_ratio)`` must be linear warmup then cosine decay."""
    n = 0
    for max_lr, warmup, total, ratio in [(1e-3, 10, 100, 0.1), (3e-3, 0, 50, 0.0), (6e-4, 25, 40, 0.5)]:
        config = TrainConfig(steps=total, lr=max_lr, warmup_steps=warmup, min_lr_ratio=ratio)
        for step in range(total + 1):
            got = call("lr_schedule", fn, step, max_lr, warmup, total, ratio)
            expected = lr_at(step, config)
            if not isinstance(got, (int, float)) or abs(got - expected) > 1e-9 + 1e-6 * expected:
                raise ExerciseError(f"lr_schedule(step={step}, max_lr={max_lr}, warmup_steps={warmup}, "
                                    f"total_steps={total}, min_ratio={ratio}) = {got!r}; expected {expected:.6g}")
            n += 1
    print(f"✓ lr_schedule matches the reference at {n} steps of 3 schedules")

