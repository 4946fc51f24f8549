"""Byte-level BPE: the teaching functions, the fast trainer against the plain loop, lossless round trips."""

import random
from collections import Counter

import pytest
import torch

from llama_course.data.bpe import BytePairTokenizer, best_pair, merge, pair_counts, split_chunks

SAMPLE = (
    "Once upon a time, a little fox found 12 shiny stones by the river. The fox counted them: 1, 2, 3... "
    "\"These are mine!\" said the fox.\n\nThe next day the river was higher, and the stones were gone.\n"
    "从前，一只小狐狸在河边找到了十二块闪亮的石头。狐狸数了数：一、二、三……第二天，河水涨了，石头不见了。\n"
    "snake_case_names and    indented lines\tand tabs 🦊🦊 are text too.\n"
)
ROUND_TRIPS = [
    "", " ", "hello world", "  leading and trailing  ", "a   b", "\ttabs\tand\nnewlines\n\n", "\r\n",
    "我爱自然语言处理。", "emoji 🦊👩‍👩‍👧 and flags 🇳🇱", "unseen: ǅ 𠀀 ﬁ Ａ e\u0301", "▁ is just a character here",
    "numbers 3.14159 and 1,000,000", "x" * 500,
]


def naive_training(text: str, vocab_size: int) -> tuple[list[tuple[int, int]], list[int]]:
    """The plain training loop from the notebook: count all pairs, merge the best one, repeat.

    Returns the merges and the text's ids after the last merge.
    """
    chunks = [list(chunk.encode("utf-8")) for chunk in split_chunks(text)]
    merges = []
    for new_id in range(256, vocab_size):
        counts = Counter()
        for chunk in chunks:
            counts.update(pair_counts(chunk))
        if not counts:
            break
        pair = best_pair(counts)
        chunks = [merge(chunk, pair, new_id) for chunk in chunks]
        merges.append(pair)
    return merges, [i for chunk in chunks for i in chunk]


def test_pair_counts_and_merge():
    assert pair_counts([1, 2, 1, 2]) == {(1, 2): 2, (2, 1): 1}
    assert pair_counts([7]) == {} and pair_counts([]) == {}
    assert merge([1, 2, 3, 1, 2], (1, 2), 256) == [256, 3, 256]
    assert merge([5, 5, 5], (5, 5), 256) == [256, 5]  # left to right, no overlaps
    assert merge([5, 5, 5, 5], (5, 5), 256) == [256, 256]
    assert best_pair({(3, 4): 2, (1, 9): 5, (1, 2): 5}) == (1, 2)  # highest count, then smallest pair


def test_split_chunks_examples():
    assert split_chunks("Hello world, 42 times!") == ["Hello", " world", ",", " 42", " times", "!"]
    assert split_chunks("a   b") == ["a", "  ", " b"]  # the last space goes with the next word
    assert split_chunks("line\n\nnext") == ["line", "\n\n", "next"]
    assert split_chunks("a \n  b ") == ["a", " \n ", " b", " "]
    assert split_chunks("我爱你。好！") == ["我爱你", "。", "好", "！"]
    assert split_chunks("snake_case 🦊") == ["snake", "_", "case", " 🦊"]


def test_split_chunks_and_round_trips_lose_nothing():
    tok = BytePairTokenizer.train(SAMPLE, vocab_size=400)
    rng = random.Random(0)
    alphabet = [chr(c) for c in [*range(0x250), *range(0x4E00, 0x4E80), *range(0x1F600, 0x1F650)]]
    alphabet += [" ", " ", "\n", "\u00a0", "\u3000", "\u0301", "\u200d", "\u2581", "\U0010ffff"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert "".join(split_chunks(text)) == text
        assert tok.decode(tok.encode(text)) == text


def test_fast_training_gives_the_naive_merges():
    text = SAMPLE * 3 + "".join(SAMPLE[i::7] for i in range(7))
    fast = BytePairTokenizer.train(text, vocab_size=256 + 300)
    merges, ids = naive_training(text, 256 + 300)
    assert fast.merges == merges
    assert fast.encode(text) == ids  # encoding applies the merges as training did
    assert len(fast.merges) > 200  # the comparison covers many merges, including ties
    assert BytePairTokenizer.train(text, vocab_size=256 + 300).merges == fast.merges


def test_fast_training_matches_on_repetitive_texts():
    rng = random.Random(1)
    for _ in range(20):  # small alphabets: many ties and overlapping pairs such as "aaaa" and "abab"
        text = "".join(rng.choice("aab ab\n") for _ in range(rng.randint(1, 300)))
        merges, ids = naive_training(text, 300)
        tok = BytePairTokenizer.train(text, vocab_size=300)
        assert (tok.merges, tok.encode(text)) == (merges, ids), repr(text)


def test_training_stops_when_every_chunk_is_one_token():
    tok = BytePairTokenizer.train("ab ab ab", vocab_size=1000)
    assert tok.merges == [(97, 98), (32, 256)]  # "ab", then " ab"
    assert tok.encode("ab ab") == [256, 257] and len(tok) == 258
    assert tok.vocab[257] == b" ab"


def test_round_trips_are_exact():
    tok = BytePairTokenizer.train(SAMPLE, vocab_size=400)
    for text in [*ROUND_TRIPS, SAMPLE]:
        assert tok.decode(tok.encode(text)) == text
    assert len(tok.encode(SAMPLE)) < len(SAMPLE.encode("utf-8")) / 2  # merges compress the text they learned from


def test_encoding_applies_merges_in_training_order():
    tok = BytePairTokenizer([(97, 98), (98, 99)])  # "ab" -> 256 first, then "bc" -> 257
    assert tok.encode("abc") == [256, 99]
    assert tok.encode("bc") == [257]
    assert tok.encode("abc") == [256, 99]  # again, now from the cache


def test_decode_of_a_cut_character_is_replaced_not_an_error():
    tok = BytePairTokenizer()
    ids = tok.encode("狐")
    assert len(ids) == 3 and tok.decode(ids) == "狐"
    assert tok.decode(ids[:2]) == "\ufffd"
    assert tok.decode(torch.tensor(ids)) == "狐"


def test_save_and_load(tmp_path):
    tok = BytePairTokenizer.train(SAMPLE, vocab_size=300)
    path = tok.save(tmp_path / "bpe.json")
    assert [p.name for p in tmp_path.iterdir()] == ["bpe.json"]  # no temporary file left behind
    loaded = BytePairTokenizer.load(path)
    assert loaded.merges == tok.merges and loaded.vocab == tok.vocab
    assert loaded.encode(SAMPLE) == tok.encode(SAMPLE)


def test_verbose_training_prints_each_merge(capsys):
    BytePairTokenizer.train("aaab aaab", vocab_size=258, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    # after "aa", the pairs (256, 97) "aa"+"a" and (97, 98) "a"+"b" both occur twice: the smaller pair wins
    assert lines == ["merge 1: (97, 97) -> 256 b'aa' (count 4)", "merge 2: (97, 98) -> 257 b'ab' (count 2)"]


def test_clear_errors(tmp_path):
    tok = BytePairTokenizer.train(SAMPLE, vocab_size=300)
    with pytest.raises(ValueError, match="at least 256"):
        BytePairTokenizer.train(SAMPLE, vocab_size=100)
    with pytest.raises(ValueError, match="empty text"):
        BytePairTokenizer.train("", vocab_size=300)
    with pytest.raises(TypeError, match="str"):
        BytePairTokenizer.train(b"bytes", vocab_size=300)
    with pytest.raises(TypeError, match="str"):
        tok.encode(None)
    with pytest.raises(ValueError, match="token id 300 .*vocab size 300"):
        tok.decode([1, 300])
    with pytest.raises(ValueError, match="token id -1"):
        tok.decode([-1])
    with pytest.raises(TypeError, match="integer token ids"):
        tok.decode([1.5])
    with pytest.raises(ValueError, match="does not exist yet"):
        BytePairTokenizer([(97, 256)])
    (tmp_path / "bad.json").write_text("not json")
    with pytest.raises(ValueError, match="not a BytePairTokenizer file"):
        BytePairTokenizer.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a BytePairTokenizer file"):
        BytePairTokenizer.load(tmp_path / "other.json")
    with pytest.raises(FileNotFoundError):
        BytePairTokenizer.load(tmp_path / "missing.json")
