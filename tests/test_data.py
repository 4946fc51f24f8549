"""Token datasets: documents wrapped in <s> </s>, compact storage, windows whose targets are shifted by one."""

import numpy as np
import pytest
import torch

from llama_course.data.batches import TokenDataset, story_datasets, text_datasets, tokenize_documents
from llama_course.data.corpus import load_corpus
from llama_course.data.tokenizer import BOS_ID, EOS_ID, CharTokenizer, course_tokenizer


def test_documents_are_wrapped_and_stored_compactly():
    tokenizer = CharTokenizer.from_text("abc")
    tokens = tokenize_documents(["ab", "c"], tokenizer)
    assert tokens.dtype == np.uint16
    a, b, c = tokenizer.encode("abc")
    assert tokens.tolist() == [BOS_ID, a, b, EOS_ID, BOS_ID, c, EOS_ID]


def test_targets_are_the_inputs_shifted_by_one():
    data = TokenDataset(np.arange(100, dtype=np.uint16), context=8)
    x, y = data.sample(4, seed=[0, 1, 2])
    assert x.dtype == torch.long and x.shape == y.shape == (4, 8)
    assert torch.equal(y[:, :-1], x[:, 1:])
    assert torch.equal(y[:, -1], x[:, -1] + 1)


def test_sampling_depends_on_the_seed_only():
    data = TokenDataset(np.arange(1000), context=16)
    first, again, other = data.sample(8, [0, 5, 0]), data.sample(8, [0, 5, 0]), data.sample(8, [0, 6, 0])
    assert torch.equal(first[0], again[0])
    assert not torch.equal(first[0], other[0])
    starts = torch.cat([data.sample(64, [0, s, 0])[0][:, 0] for s in range(50)])
    assert starts.min() >= 0 and starts.max() <= 1000 - 17  # every window has its next-token target


def test_validation_batches_are_fixed_and_cover_the_stream():
    data = TokenDataset(np.arange(41), context=10)
    assert data.n_windows == 4
    batches = list(data.batches(3))
    assert [b[0].shape[0] for b in batches] == [3, 1]
    inputs = torch.cat([b[0] for b in batches]).flatten()
    assert inputs.tolist() == list(range(40))
    first, last = (b[0] for b in data.batches(1, max_windows=2))
    assert first[0, 0] == 0 and last[0, 0] == 30  # the first and the last window: spread over the stream


def test_story_datasets_hold_the_whole_corpus(tmp_path):
    corpus = load_corpus(n_stories=40, cache_dir=tmp_path)
    tokenizer = course_tokenizer()
    train, val = story_datasets(corpus, tokenizer, context=32, language="both")
    assert int((train.tokens == BOS_ID).sum()) == 2 * len(corpus.train)
    assert int((val.tokens == EOS_ID).sum()) == 2 * len(corpus.val)
    en_train, _ = story_datasets(corpus, tokenizer, context=32, language="en")
    assert len(en_train) == sum(len(tokenizer.encode(s.text)) + 2 for s in corpus.train)
    assert train.nbytes == 2 * len(train)
    english_end = len(en_train)  # all English stories first, then all Chinese ones
    assert train.tokens[english_end - 1] == EOS_ID and train.tokens[english_end] == BOS_ID
    assert tokenizer.decode(train.tokens[english_end:english_end + 40].tolist()).startswith(corpus.train[0].text_zh[:5])


def test_text_datasets_hold_out_the_end():
    text = "the cat sat on the mat. " * 50
    tokenizer = CharTokenizer.from_text(text)
    train, val = text_datasets(text, tokenizer, context=16, val_fraction=0.2)
    assert len(val) == int((len(text) + 2) * 0.2)
    assert len(train) + len(val) == len(text) + 2


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: TokenDataset(np.arange(5), context=8), "too few"),
        (lambda: TokenDataset(np.arange(50), context=0), "positive"),
        (lambda: TokenDataset(np.zeros((4, 4), dtype=np.int64), context=2), "1-D"),
        (lambda: TokenDataset(np.linspace(0, 1, 50), context=2), "integer"),
        (lambda: text_datasets("short text", CharTokenizer.from_text("short text"), context=16), "more text"),
    ],
)
def test_bad_input_gets_a_clear_error(make, words):
    with pytest.raises((ValueError, TypeError), match=words):
        make()
