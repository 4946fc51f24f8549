"""The capstone checks of notebooks 01 (encoding with learned BPE merges) and 02 (causal attention that builds
its own mask): each passes the reference, fails the stub, and names the usual mistake."""

import math

import pytest
import torch

from llama_course.attention import attention
from llama_course.classroom import exercises
from llama_course.classroom.exercises import ExerciseError
from llama_course.classroom.exercises import tokenization as bpe_checks
from llama_course.classroom.exercises.base import describe
from llama_course.data.bpe import BytePairTokenizer, merge, pair_counts, split_chunks


def not_written(*args):
    raise NotImplementedError


# --- 01: encode a chunk with learned merges ---------------------------------------------------------------

def encode_chunk(ids, merges):
    while len(ids) > 1:
        pair = min(zip(ids, ids[1:], strict=False), key=lambda p: merges.get(p, math.inf))
        if pair not in merges:
            break
        ids = merge(ids, pair, merges[pair])
    return ids


def by_frequency_in_the_new_text(ids, merges):
    while True:
        counts = {p: n for p, n in pair_counts(ids).items() if p in merges}
        if not counts:
            return ids
        pair = max(counts, key=counts.get)
        ids = merge(ids, pair, merges[pair])


def by_frequency_ties_to_the_first_learned(ids, merges):
    while True:
        counts = {p: n for p, n in pair_counts(ids).items() if p in merges}
        if not counts:
            return ids
        pair = min(counts, key=lambda p: (-counts[p], merges[p]))
        ids = merge(ids, pair, merges[pair])


def one_greedy_scan(ids, merges):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) in merges:
            out.append(merges[ids[i], ids[i + 1]])
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def test_encode_chunk_passes_the_reference_and_the_tokenizer_agrees(capsys):
    exercises.check_encode_chunk(encode_chunk)
    assert "✓ encode_chunk matches BytePairTokenizer.encode" in capsys.readouterr().out
    tokenizer = BytePairTokenizer.train(bpe_checks._TRAINING_TEXT, vocab_size=256 + 60)
    merges = {pair: 256 + k for k, pair in enumerate(tokenizer.merges)}
    for text in bpe_checks._NEW_TEXTS:
        assert [i for c in split_chunks(text) for i in encode_chunk(list(c.encode()), merges)] == tokenizer.encode(text)


def test_applying_each_merge_once_in_learned_order_is_also_right(capsys):
    """A merge only creates pairs learned after it, so one pass over the merge list in order is correct too."""
    def in_order(ids, merges):
        for pair, new_id in sorted(merges.items(), key=lambda item: item[1]):
            ids = merge(ids, pair, new_id)
        return ids

    exercises.check_encode_chunk(in_order)
    assert "✓" in capsys.readouterr().out


def test_encode_chunk_stub_is_not_written_yet():
    with pytest.raises(ExerciseError, match="encode_chunk is not written yet"):
        exercises.check_encode_chunk(not_written)


@pytest.mark.parametrize("wrong", [by_frequency_in_the_new_text, by_frequency_ties_to_the_first_learned])
def test_merging_by_frequency_in_the_new_text_is_named(wrong):
    with pytest.raises(ExerciseError, match=r"most frequent in the new text.*Example: 'Whaaaat' gave "
                                            r"\['W', 'h', 'aa', 'aa', 't'\]; expected \['W', 'h', 'aa', 'a', 'at'\]"):
        exercises.check_encode_chunk(wrong)


def test_left_to_right_and_latest_first_are_named():
    def repeated_scans(ids, merges):
        while (out := one_greedy_scan(ids, merges)) != ids:
            ids = out
        return ids

    def latest_first(ids, merges):
        while present := [p for p in zip(ids, ids[1:], strict=False) if p in merges]:
            pair = max(present, key=merges.get)
            ids = merge(ids, pair, merges[pair])
        return ids

    with pytest.raises(ExerciseError, match="greedily from left to right"):
        exercises.check_encode_chunk(repeated_scans)
    with pytest.raises(ExerciseError, match="learned last first"):
        exercises.check_encode_chunk(latest_first)


def test_stopping_too_early_and_wrong_ids_are_explained():
    with pytest.raises(ExerciseError, match=r"still have a merge .* keep merging"):
        exercises.check_encode_chunk(one_greedy_scan)
    with pytest.raises(ExerciseError, match="do not spell the chunk's bytes"):
        exercises.check_encode_chunk(lambda ids, merges: [i + 1 if i > 255 else i for i in encode_chunk(ids, merges)])
    with pytest.raises(ExerciseError, match="should return a list of ints"):
        exercises.check_encode_chunk(lambda ids, merges: tuple(encode_chunk(ids, merges)))


def test_merging_the_rightmost_copy_of_the_earliest_pair_is_named():
    def rightmost(ids, merges):
        while present := [(merges[p], i) for i, p in enumerate(zip(ids, ids[1:], strict=False)) if p in merges]:
            new_id = min(present)[0]
            i = max(i for n, i in present if n == new_id)
            ids = ids[:i] + [new_id] + ids[i + 2:]
        return ids

    with pytest.raises(ExerciseError, match=r"rightmost copy of the earliest pair.*merge its leftmost copy first "
                                            r"\(or all copies, left to right.*Example: 'aaaaaaaaa' gave "
                                            r"\['a', 'aa', 'aa', 'aa', 'aa'\]; "
                                            r"expected \['aa', 'aa', 'aa', 'aa', 'a'\]"):
        exercises.check_encode_chunk(rightmost)


def test_an_error_in_the_learners_code_names_the_merges_briefly():
    def no_guard_for_short_chunks(ids, merges):
        pair = min(zip(ids, ids[1:], strict=False), key=lambda p: merges.get(p, math.inf))  # fails on []
        return encode_chunk(ids, merges) if pair else ids

    with pytest.raises(ExerciseError) as caught:
        exercises.check_encode_chunk(no_guard_for_short_chunks)
    assert str(caught.value) == "encode_chunk([], dict of 60 entries) raised ValueError: min() arg is an empty sequence"


def test_describe_keeps_short_things_and_sizes_long_ones():
    assert describe((torch.zeros(2, 3), [1, 2], (1, 1), 99, "x")) == "tensor(2, 3), [1, 2], (1, 1), 99, 'x'"
    assert describe(({(1, 2): 256, (3, 4): 257},)) == "dict of 2 entries"
    long_lists = (list(range(120)), [0.5] * 30, [1, "a"] * 20)
    assert describe(long_lists) == "list of 120 ints, list of 30 floats, list of 40 items"


# --- 02: causal attention with its own mask ---------------------------------------------------------------

def causal_attention(q, k, v):
    q_len, k_len = q.size(-2), k.size(-2)
    mask = torch.ones(q_len, k_len, dtype=torch.bool).tril(diagonal=k_len - q_len)
    scores = (q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))).masked_fill(~mask, float("-inf"))
    return scores.softmax(-1) @ v


def test_causal_attention_passes_the_reference(capsys):
    exercises.check_causal_attention(causal_attention)
    assert "✓ causal_attention matches the reference on 5 random inputs" in capsys.readouterr().out


def test_causal_attention_stub_is_not_written_yet():
    with pytest.raises(ExerciseError, match="causal_attention is not written yet"):
        exercises.check_causal_attention(not_written)


def test_top_left_mask_is_diagnosed_on_the_first_case_with_more_keys_than_queries():
    def top_left(q, k, v):
        mask = torch.tril(torch.ones(q.size(-2), k.size(-2))).bool()
        return attention(q, k, v, mask)[0]

    with pytest.raises(ExerciseError, match=r"tensor\(2, 3, 3, 8\), tensor\(2, 3, 6, 8\).*aligned at the top left"
                                            r".*\(this is what is_causal=True does\)"):
        exercises.check_causal_attention(top_left)


def test_missing_mask_and_missing_scale_are_named():
    with pytest.raises(ExerciseError, match="no mask at all"):
        exercises.check_causal_attention(lambda q, k, v: attention(q, k, v)[0])
    with pytest.raises(ExerciseError, match=r"not scaled: divide the scores by sqrt\(d_k\)"):
        exercises.check_causal_attention(lambda q, k, v: causal_attention(q * math.sqrt(q.size(-1)), k, v))


def test_other_wrong_answers_get_the_first_mismatch():
    def future_only(q, k, v):
        mask = torch.ones(q.size(-2), k.size(-2), dtype=torch.bool).triu()
        return attention(q, k, v, mask)[0]

    with pytest.raises(ExerciseError, match=r"differs from the reference .* first at index \(0, 0\)"):
        exercises.check_causal_attention(future_only)


@pytest.mark.parametrize("diagonal", [lambda q_len, k_len: -1, lambda q_len, k_len: q_len - k_len],
                         ids=["own position left out", "diagonal shifted the wrong way"])
def test_a_mask_row_with_no_key_is_explained(diagonal):
    def empty_rows(q, k, v):
        q_len, k_len = q.size(-2), k.size(-2)
        mask = torch.ones(q_len, k_len, dtype=torch.bool).tril(diagonal=diagonal(q_len, k_len))
        return attention(q, k, v, mask)[0]

    with pytest.raises(ExerciseError, match=r"returned NaN: a row of your mask has no True \(all -inf -> NaN\); "
                                            r"query i must see keys 0..k_len-q_len\+i, its own included"):
        exercises.check_causal_attention(empty_rows)
