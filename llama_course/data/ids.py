"""Token ids as a learner passes them to a tokenizer's ``decode`` (a list, a tensor, an array), checked the same
way for every tokenizer, so a bad id is reported by value rather than by a library deep down."""

from __future__ import annotations

import operator
from collections.abc import Iterable


def validate_ids(ids: Iterable[int], vocab_size: int) -> list[int]:
    """``ids`` as a list of Python ints (lists, tensors and arrays welcome), or a clear error for a bad id."""
    if isinstance(ids, (str, bytes)):
        raise TypeError(f"expected a sequence of integer token ids, got {type(ids).__name__}")
    try:
        out = [operator.index(i) for i in (ids.tolist() if hasattr(ids, "tolist") else ids)]
    except TypeError:
        raise TypeError(f"expected a sequence of integer token ids, got {ids!r:.80}") from None
    for i in out:
        if not 0 <= i < vocab_size:
            raise ValueError(f"token id {i} is outside the vocabulary: ids go from 0 to {vocab_size - 1} "
                             f"(vocab size {vocab_size})")
    return out
