"""Argument checks shared by the figures: a clear error for a wrong shape or index, not a traceback from deep
inside matplotlib."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from ..config import is_whole


def as_matrix(x: Any, name: str, rank: int, hint: str = "") -> torch.Tensor:
    """``x`` as a float CPU tensor of the given rank, or a ValueError saying what was expected."""
    t = torch.as_tensor(x.detach() if isinstance(x, torch.Tensor) else np.asarray(x)).float().cpu()
    if t.dim() != rank:
        raise ValueError(f"{name} must be a {rank}-D tensor, got shape {tuple(t.shape)}{hint}")
    return t


def check_tokens(tokens: Sequence[str], k_len: int, q_len: int, what: str) -> list[str]:
    if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
        raise TypeError("tokens must be a list of strings, one per position")
    tokens = list(tokens)
    if len(tokens) != k_len:
        raise ValueError(f"got {len(tokens)} tokens for {what} with {k_len} keys: expected {k_len} tokens")
    if q_len > k_len:
        raise ValueError(f"{what} has more queries ({q_len}) than keys ({k_len}): expected q_len <= k_len")
    return tokens


def checked_index(i: Any, count: int, what: str) -> int:
    """``i`` as an int in ``range(count)``, or a ValueError saying which range was expected."""
    if not (is_whole(i) or isinstance(i, np.integer)) or not 0 <= i < count:
        raise ValueError(f"{what} index {i!r} is out of range: expected 0 <= {what} < {count}")
    return int(i)


def checked_indices(chosen: int | Sequence[int] | None, count: int, what: str) -> list[int]:
    """All of ``range(count)`` for None, else the chosen index or indices, each checked to be in range."""
    if chosen is None:
        return list(range(count))
    chosen = [chosen] if isinstance(chosen, (int, np.integer)) else list(chosen)
    if not chosen:
        raise ValueError(f"choose at least one {what}")
    return [checked_index(i, count, what) for i in chosen]


def checked_positions(positions: Iterable[int], name: str = "positions") -> list[int]:
    positions = list(positions)
    if not positions or not all(isinstance(p, (int, np.integer)) and p >= 0 for p in positions):
        raise ValueError(f"{name} must be a non-empty list of non-negative integers, got {positions!r}")
    return [int(p) for p in positions]

