"""Sampling: greedy equals step-by-step argmax without a cache; seeds repeat; top-k restricts."""

import pytest
import torch

from llama_course.config import LlamaConfig
from llama_course.generate import complete, generate, sample_next
from llama_course.model import Llama
from llama_course.tokenizer import CharTokenizer


@pytest.fixture
def model():
    torch.manual_seed(0)
    return Llama(LlamaConfig(vocab_size=40, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=24))


def test_greedy_with_cache_equals_full_recomputation(model):
    prompt = [1, 7, 9]
    new = generate(model, prompt, 10, temperature=0)
    ids = list(prompt)
    for _ in range(10):
        ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    assert new == ids[3:]


def test_seeds_repeat_and_differ(model):
    a, b, c = (generate(model, [1, 5], 12, temperature=1.0, seed=s) for s in (3, 3, 4))
    assert a == b and a != c


def test_top_k_keeps_the_k_most_likely():
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0, -1.0]])
    draws = {int(sample_next(logits, 1.0, top_k=2, generator=torch.Generator().manual_seed(i))) for i in range(200)}
    assert draws == {1, 3}
    assert int(sample_next(logits, 0)) == 1


def test_generation_stops_at_the_stop_id_and_the_context(model):
    greedy = generate(model, [1], 30, temperature=0)
    assert len(greedy) == 23  # the context of 24 is full
    stop = greedy[4]
    assert generate(model, [1], 30, temperature=0, stop_id=stop)[-1] == stop
    with pytest.raises(ValueError, match="no room"):
        generate(model, list(range(24)), 5)
    with pytest.raises(ValueError, match="temperature"):
        generate(model, [1], 5, temperature=-1)


def test_complete_returns_the_prompt_and_its_continuation(model):
    tokenizer = CharTokenizer.from_text("abcdefghijklmnopqrstuvwxyz .")
    torch.manual_seed(0)
    char_model = Llama(model.config.replace(vocab_size=len(tokenizer)))
    text = complete(char_model, tokenizer, "the cat", 10, temperature=0.5, seed=0)
    assert text.startswith("the cat") and len(text) > len("the cat")
