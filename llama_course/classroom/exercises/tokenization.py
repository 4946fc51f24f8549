"""Checks for notebook 01 (tokenization)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import torch

from ...data.bpe import BytePairTokenizer, merge, pair_counts, split_chunks
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



# The check's own small tokenizer: repeated English words, runs of one letter, Chinese with repeated characters.
_TRAINING_TEXT = (
    "the cat sat on the mat. the hat sat on the cat. that cat sat there, then the cat ran. "
    "aaaa aaaa aaa aa banana bandana banana. "
    "小猫坐在垫子上。小猫看着小狗。小鸟叽叽喳喳地叫。叽叽喳喳，叽叽喳喳。"
) * 3
# Text it never saw: new words made of learned pieces, long repeats, Chinese, digits, an emoji, nothing at all.
_NEW_TEXTS = [
    "the theatre", "thatcher's cathedral", "aaaaaaaaa aaaaa", "Whaaaat?", "bananas and bandanas",
    "the mathematician", "anatomy of an anathema", "小狗坐在小猫上", "叽叽叽喳喳喳", "Cats 42 🦙", "",
]
Merges = dict[tuple[int, int], int]


def _by_frequency(ids: list[int], merges: Merges, ties_by_rank: bool = False) -> list[int]:
    """The classic mistake: merge the pair most frequent in the new text, as if training on it again
    (ties going to the first pair seen, or to the pair learned first)."""
    while True:
        counts = {p: n for p, n in pair_counts(ids).items() if p in merges}
        if not counts:
            return ids
        if ties_by_rank:
            pair = min(counts, key=lambda p: (-counts[p], merges[p]))
        else:
            pair = max(counts, key=counts.__getitem__)
        ids = merge(ids, pair, merges[pair])


def _left_to_right(ids: list[int], merges: Merges) -> list[int]:
    """Another one: sweep left to right merging whatever pair has a merge, and sweep again until nothing changes."""
    while True:
        out, i = [], 0
        while i < len(ids):
            if i + 1 < len(ids) and (ids[i], ids[i + 1]) in merges:
                out.append(merges[ids[i], ids[i + 1]])
                i += 2
            else:
                out.append(ids[i])
                i += 1
        if out == ids:
            return ids
        ids = out


def _latest_first(ids: list[int], merges: Merges) -> list[int]:
    """And one more: ``max`` where ``min`` belongs, so the pair learned last goes first."""
    while True:
        present = [p for p in pairwise(ids) if p in merges]
        if not present:
            return ids
        pair = max(present, key=merges.__getitem__)
        ids = merge(ids, pair, merges[pair])


def _rightmost_first(ids: list[int], merges: Merges) -> list[int]:
    """Also wrong: the right pair, but only its last copy in the chunk, so 'aaa' becomes 'a', 'aa'."""
    while True:
        present = [p for p in pairwise(ids) if p in merges]
        if not present:
            return ids
        pair = min(present, key=merges.__getitem__)
        i = max(i for i, p in enumerate(pairwise(ids)) if p == pair)
        ids = ids[:i] + [merges[pair]] + ids[i + 2:]


_FREQUENCY = ("merges the pair that is most frequent in the new text first. That re-trains on the text being "
              "encoded: the tokens of a word would then depend on what else is in the text. Apply the merges in "
              "the order they were learned: at each step merge the pair present whose new id is smallest, however "
              "often it occurs")
_MISTAKES = [
    (_by_frequency, _FREQUENCY),
    (lambda ids, merges: _by_frequency(ids, merges, ties_by_rank=True), _FREQUENCY),
    (_left_to_right, "merges pairs greedily from left to right. The order is the merge table's, not the text's: "
                     "at each step find, anywhere in the chunk, the pair whose new id is smallest, merge it, "
                     "and look again"),
    (_latest_first, "merges the pair learned last first (the largest new id); the pair learned first, the "
                    "smallest new id, goes first"),
    (_rightmost_first, "merges the rightmost copy of the earliest pair first. When the earliest pair occurs "
                       "more than once, merge its leftmost copy first (or all copies, left to right, as merge_pair "
                       "does): in 'aaa' the pair ('a', 'a') becomes 'aa', 'a', as in training"),
]


def check_encode_chunk(fn: Callable[[list[int], Merges], list[int]]) -> None:
    """``fn(ids, merges)`` must encode the bytes of one chunk with learned merges (``merges[pair]`` is the id
    that ``pair`` became), applying them in the order they were learned, as ``BytePairTokenizer.encode`` does."""
    tokenizer = BytePairTokenizer.train(_TRAINING_TEXT, vocab_size=256 + 60)
    merges = {pair: 256 + k for k, pair in enumerate(tokenizer.merges)}
    chunks = ["", "a", *(chunk for text in _NEW_TEXTS for chunk in split_chunks(text))]
    cases = [list(chunk.encode("utf-8")) for chunk in chunks]
    got = []
    for ids in cases:
        answer = call("encode_chunk", fn, list(ids), dict(merges))
        if not isinstance(answer, list) or not all(isinstance(i, int) for i in answer):
            raise ExerciseError(f"encode_chunk({ids}, merges) should return a list of ints, got {answer!r}")
        got.append(answer)
    expected = [tokenizer.encode(chunk) for chunk in chunks]  # a chunk is its own only chunk
    if got == expected:
        print(f"✓ encode_chunk matches BytePairTokenizer.encode on {len(cases)} chunks "
              "(unseen words, repeats like 'aaaa', Chinese, an emoji, empty)")
        return
    for mistake, message in _MISTAKES:
        if got == [mistake(ids, merges) for ids in cases]:
            ids, answer, right = next((i, g, e) for i, g, e in zip(cases, got, expected, strict=True) if g != e)
            raise ExerciseError(f"encode_chunk {message}. Example: {bytes(ids).decode('utf-8')!r} gave "
                                f"{_pieces(answer, tokenizer)}; expected {_pieces(right, tokenizer)}")
    ids, answer, right = next((i, g, e) for i, g, e in zip(cases, got, expected, strict=True) if g != e)
    vocab = tokenizer.vocab
    spelled = all(i in vocab for i in answer) and b"".join(vocab[i] for i in answer) == bytes(ids)
    shown = f"{answer} {_pieces(answer, tokenizer)}" if spelled else f"{answer}"
    where = (f"encode_chunk on the bytes of {bytes(ids).decode('utf-8')!r} gave {shown}; "
             f"expected {right} {_pieces(right, tokenizer)}")
    if not spelled:
        raise ExerciseError(f"{where}: those ids do not spell the chunk's bytes (every merge must replace "
                            "a pair by its own new id)")
    left = [p for p in pairwise(answer) if p in merges]
    if left:
        raise ExerciseError(f"{where}: the neighbours {left[0]} still have a merge (id {merges[left[0]]}); "
                            "keep merging until no neighbouring pair is in merges")
    raise ExerciseError(f"{where}: merge the pair with the smallest new id first, then look again")


def _pieces(ids: list[int], tokenizer: BytePairTokenizer) -> list[str]:
    """Ids as the text pieces they stand for, so a wrong split reads at a glance."""
    return [tokenizer.vocab[i].decode("utf-8", errors="replace") for i in ids]
