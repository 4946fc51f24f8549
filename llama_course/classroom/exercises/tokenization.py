"""Checks for notebook 01 (tokenization)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ...data.bpe import merge, pair_counts
from .base import ExerciseError, call, generator


def _random_id_lists(seed: int) -> list[list[int]]:
    """Short id lists with many repeats and overlaps ("aaa", "abab"), the cases merges get wrong."""
    g = generator(seed)
    lists = [[], [7], [1, 1, 1], [1, 2, 1, 2, 1], [5, 5, 5, 5]]
    for length in (10, 30, 60):
        lists.append(torch.randint(0, 4, (length,), generator=g).tolist())
    return lists


def check_pair_counts(fn: Callable[[list[int]], dict[tuple[int, int], int]]) -> None:
    """``fn(ids)`` must count each adjacent pair of ids."""
    cases = _random_id_lists(6)
    for ids in cases:
        got, expected = call("count_pairs", fn, list(ids)), pair_counts(ids)
        if not isinstance(got, dict):
            raise ExerciseError(f"count_pairs({ids}) should return a dict, got {type(got).__name__}")
        if dict(got) != expected:
            wrong = sorted(set(got) ^ set(expected) | {p for p in expected if got.get(p) != expected[p]})[0]
            raise ExerciseError(f"count_pairs({ids}) is wrong for pair {wrong}: "
                                f"got {got.get(wrong, 0)}, expected {expected.get(wrong, 0)}")
    print(f"✓ count_pairs matches the reference on {len(cases)} id lists")


def check_merge(fn: Callable[[list[int], tuple[int, int], int], list[int]]) -> None:
    """``fn(ids, pair, new_id)`` must replace each non-overlapping ``pair``, left to right, by ``new_id``."""
    cases = [(ids, pair) for ids in _random_id_lists(7) for pair in ((1, 1), (1, 2), (5, 5), (0, 3))]
    for ids, pair in cases:
        got, expected = call("merge_pair", fn, list(ids), pair, 99), merge(ids, pair, 99)
        if got != expected:
            raise ExerciseError(f"merge_pair({ids}, {pair}, 99) gave {got}; expected {expected}")
    print(f"✓ merge_pair matches the reference on {len(cases)} cases, overlapping pairs included")

