"""Generation: cache == no cache == transformers (greedy), sampling filters, seeds, stops, streaming, errors."""

import pytest
import torch
import transformers

from llama_course.config import LlamaConfig
from llama_course.data.tokenizer import CharTokenizer, course_tokenizer
from llama_course.generate import Sampling, complete, filter_logits, generate, next_token_probs, sample_next, stream
from llama_course.hf import to_hf
from llama_course.model import Llama


@pytest.fixture
def model():
    torch.manual_seed(0)
    return Llama(LlamaConfig(vocab_size=40, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=48))


def test_greedy_with_cache_equals_without_and_full_recomputation(model):
    prompt = [1, 7, 9]
    cached = generate(model, prompt, 20, temperature=0)
    assert cached == generate(model, prompt, 20, temperature=0, use_cache=False)
    ids = list(prompt)
    for _ in range(20):
        ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    assert cached == ids[3:]


@pytest.mark.parametrize("n_kv_heads", [4, 2, 1])
def test_greedy_equals_transformers_generate(n_kv_heads):
    torch.manual_seed(n_kv_heads)
    config = LlamaConfig(vocab_size=64, dim=64, n_layers=2, n_heads=4, n_kv_heads=n_kv_heads, max_seq_len=96)
    ours = Llama(config)
    with torch.no_grad():  # bigger weights than the init so the argmax is decided by the model, not by noise
        for p in ours.parameters():
            if p.dim() == 2:
                p.mul_(3)
    theirs = to_hf(ours)
    prompt = torch.tensor([[1, 5, 9, 33, 2, 17]])
    reference = theirs.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=60, do_sample=False,
                                eos_token_id=None, pad_token_id=0)
    assert generate(ours, prompt[0], 60, temperature=0) == reference[0, 6:].tolist()


def test_batch_of_prompts_equals_one_at_a_time(model):
    prompts = [[1, 4, 5], [1, 8], [1, 9, 9]]
    together = generate(model, prompts, 10, temperature=0)
    assert together == [generate(model, p, 10, temperature=0) for p in prompts]


def test_seeds_repeat_and_differ(model):
    a, b, c = (generate(model, [1, 5], 12, temperature=1.0, seed=s) for s in (3, 3, 4))
    assert a == b and a != c


def test_top_k_top_p_min_p_keep_the_right_tokens():
    logits = torch.log(torch.tensor([[0.5, 0.2, 0.15, 0.1, 0.05]]))
    kept = lambda **s: torch.isfinite(filter_logits(logits, Sampling(**s)))[0].tolist()  # noqa: E731
    assert kept(top_k=2) == [True, True, False, False, False]
    assert kept(top_p=0.5) == [True, False, False, False, False]  # 0.5 alone reaches p
    assert kept(top_p=0.8) == [True, True, True, False, False]  # 0.5 + 0.2 < 0.8 <= 0.85
    assert kept(min_p=0.3) == [True, True, True, False, False]  # at least 0.3 * 0.5 = 0.15
    probs = next_token_probs(logits, Sampling(top_k=2))
    torch.testing.assert_close(probs, torch.tensor([[5 / 7, 2 / 7, 0, 0, 0]]))
    draws = {int(sample_next(logits, Sampling(top_k=2), torch.Generator().manual_seed(i))) for i in range(100)}
    assert draws == {0, 1}


def test_temperature_sharpens_and_flattens():
    logits = torch.tensor([[2.0, 1.0, 0.0]])
    cold, warm = next_token_probs(logits, Sampling(temperature=0.5)), next_token_probs(logits, Sampling(temperature=2))
    assert cold[0, 0] > torch.softmax(logits, -1)[0, 0] > warm[0, 0]
    assert next_token_probs(logits, Sampling(temperature=0)).tolist() == [[1.0, 0.0, 0.0]]


def test_repetition_penalty_matches_transformers():
    logits = torch.tensor([[2.0, -1.0, 0.5, 3.0]])
    seen = torch.tensor([[0, 1]])
    processor = transformers.RepetitionPenaltyLogitsProcessor(penalty=1.3)
    theirs = processor(seen, logits.clone())
    ours = next_token_probs(logits, Sampling(repetition_penalty=1.3), seen)
    torch.testing.assert_close(ours, theirs.softmax(-1))


def test_generation_stops_at_stop_ids_and_the_context(model):
    greedy = generate(model, [1], 100, temperature=0)
    assert len(greedy) == 47  # the context of 48 is full
    stop = greedy[4]
    assert generate(model, [1], 100, temperature=0, stop_ids=[stop])[-1] == stop


def test_streaming_gives_the_same_text_as_complete():
    tokenizer = course_tokenizer()
    torch.manual_seed(0)
    model = Llama(LlamaConfig.preset("tiny").replace(dim=64, n_layers=2))
    pieces = list(stream(model, tokenizer, "Once upon a time", 40, temperature=0.9, seed=1))
    assert len(pieces) > 5
    assert "Once upon a time" + "".join(pieces) == complete(model, tokenizer, "Once upon a time", 40,
                                                            temperature=0.9, seed=1)
    prompts = ["Once upon", "从前"]
    assert complete(model, tokenizer, prompts, 10, temperature=0) == [
        complete(model, tokenizer, p, 10, temperature=0) for p in prompts]


def test_stop_strings_end_the_text():
    tokenizer = CharTokenizer.from_text("abcdefghij .")
    torch.manual_seed(0)
    model = Llama(LlamaConfig(vocab_size=len(tokenizer), dim=32, n_layers=1, n_heads=2, max_seq_len=64))
    full = complete(model, tokenizer, "ab", 40, temperature=0)
    stop = full[6:8]
    cut = complete(model, tokenizer, "ab", 40, temperature=0, stop=[stop])
    assert cut == full[: full.index(stop, 2)] and stop not in cut[2:]
    assert "ab" + "".join(stream(model, tokenizer, "ab", 40, stop=[stop], temperature=0)) == cut


@pytest.mark.parametrize("settings, words", [
    ({"temperature": -1}, "temperature"), ({"top_p": 0.0}, "top_p"), ({"top_p": 1.5}, "top_p"),
    ({"top_k": 0}, "top_k"), ({"min_p": 1.0}, "min_p"), ({"repetition_penalty": 0}, "repetition_penalty"),
])
def test_nonsense_settings_get_clear_errors(model, settings, words):
    with pytest.raises(ValueError, match=words):
        generate(model, [1, 2], 5, **settings)


def test_bad_prompts_get_clear_errors(model):
    with pytest.raises(ValueError, match="empty"):
        generate(model, [], 5)
    with pytest.raises(ValueError, match="no room"):
        generate(model, list(range(1, 40)) + [1] * 9, 5)
    with pytest.raises(ValueError, match="vocabulary"):
        generate(model, [1, 99], 5)
    with pytest.raises(ValueError, match="unknown special token"):
        complete(Llama(LlamaConfig.preset("tiny").replace(n_layers=1)), course_tokenizer(), "Hi", 5, stop=["<|eot|>"])
    with pytest.raises(TypeError, match="str"):
        list(stream(model, CharTokenizer.from_text("ab"), [1, 2]))


@pytest.mark.slow
def test_compiled_decoding_gives_the_same_tokens(model):
    prompts = [[1, 7, 9], [1, 3, 4]]
    assert generate(model, prompts, 25, temperature=0, compile=True) == generate(model, prompts, 25, temperature=0)
    sampled = generate(model, [1, 2], 25, temperature=0.8, top_p=0.9, seed=5)
    assert generate(model, [1, 2], 25, temperature=0.8, top_p=0.9, seed=5, compile=True) == sampled
