"""The KV-cached greedy decoding exercise of notebook 06: its check passes the reference, says "not written yet"
for the stub, and names the usual mistakes (no cache, the whole sequence fed again, a new cache each step...)."""

import pytest
import torch

from llama_course.attention import KVCache
from llama_course.classroom.exercises import ExerciseError, check_cached_greedy_decode
from llama_course.config import LlamaConfig
from llama_course.generate import generate
from llama_course.model import Llama


def new_cache(model):
    weight = next(model.parameters())
    return KVCache(model.config, batch_size=1, device=weight.device, dtype=weight.dtype)


def reference(model, prompt_ids, n):
    """The notebook's solution: the prompt once, then the newest token alone, through one cache."""
    cache, new = new_cache(model), []
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model(torch.tensor([prompt_ids], device=device), cache=cache)
        for _ in range(n):
            new.append(int(logits[0, -1].argmax()))
            if len(new) < n:
                logits = model(torch.tensor([[new[-1]]], device=device), cache=cache)
    return new


def decoder(feed):
    """A cached decoder whose step ``feed(ids, new, cache, model)`` returns the logits for the next token."""
    def decode(model, prompt_ids, n):
        cache, ids = new_cache(model), list(prompt_ids)
        with torch.no_grad():
            logits = model(torch.tensor([ids]), cache=cache)
            for _ in range(n):
                ids.append(int(logits[0, -1].argmax()))
                logits = feed(ids, cache, model)
        return ids[len(prompt_ids):]
    return decode


def test_the_reference_passes(capsys):
    check_cached_greedy_decode(reference)
    assert "✓ cached_greedy_decode matches generate(temperature=0) on 4 prompts" in capsys.readouterr().out


def test_one_call_after_the_last_token_is_wasted_but_allowed(capsys):
    check_cached_greedy_decode(decoder(lambda ids, cache, model: model(torch.tensor([ids[-1:]]), cache=cache)))
    assert "✓" in capsys.readouterr().out


def test_the_stub_is_not_written_yet():
    def stub(model, prompt_ids, n):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="cached_greedy_decode is not written yet"):
        check_cached_greedy_decode(stub)


@pytest.mark.parametrize(("feed", "message"), [
    (lambda ids, cache, model: model(torch.tensor([ids])), "the cache was not passed at call 2"),
    (lambda ids, cache, model: model(torch.tensor([ids[-1:]])), "the cache was not passed at call 2"),
    (lambda ids, cache, model: model(torch.tensor([ids]), cache=cache),
     "you fed the whole sequence again at step 1 .*: that is decoding without the cache"),
    (lambda ids, cache, model: model(torch.tensor([ids[-1:]]), cache=new_cache(model)), "a different cache"),
    (lambda ids, cache, model: (cache.advance(1), model(torch.tensor([ids[-1:]]), cache=cache))[1],
     "do not call cache.advance yourself"),
    (lambda ids, cache, model: model(torch.tensor([ids[-1:]]), cache), "second positional argument"),
    (lambda ids, cache, model: model(torch.tensor([ids[:1]]), cache=cache), r"step 1 fed token \[1\], but the newest"),
    (lambda ids, cache, model: model(torch.tensor([ids[-2:]]), cache=cache), "step 1 fed 2 tokens"),
])
def test_the_usual_mistakes_get_a_diagnosis(feed, message):
    with pytest.raises(ExerciseError, match=message):
        check_cached_greedy_decode(decoder(feed))


def test_no_cache_at_all_is_caught_even_though_the_tokens_are_right():
    def without_cache(model, prompt_ids, n):  # exercise 1's greedy_decode: right ids, the slow way
        ids = list(prompt_ids)
        with torch.no_grad():
            for _ in range(n):
                ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
        return ids[len(prompt_ids):]

    with pytest.raises(ExerciseError, match="the cache was not passed at call 1"):
        check_cached_greedy_decode(without_cache)


def test_the_prompt_must_be_fed_once_and_the_answer_be_only_the_new_ids():
    def token_by_token_prefill(model, prompt_ids, n):
        cache = new_cache(model)
        for t in prompt_ids:
            logits = model(torch.tensor([[t]]), cache=cache)
        new = [int(logits[0, -1].argmax())]
        for _ in range(n - 1):
            new.append(int(model(torch.tensor([new[-1:]]), cache=cache)[0, -1].argmax()))
        return new

    with pytest.raises(ExerciseError, match="the first call should feed the whole prompt once"):
        check_cached_greedy_decode(token_by_token_prefill)
    with pytest.raises(ExerciseError, match="returned 15 ids; expected 12 .the new tokens only"):
        check_cached_greedy_decode(lambda model, prompt_ids, n: list(prompt_ids) + reference(model, prompt_ids, n))
    with pytest.raises(ExerciseError, match="should return a list of 12 token ids, got int"):
        check_cached_greedy_decode(lambda model, prompt_ids, n: 3)


def test_a_wrong_pick_names_the_first_difference():
    def first_position(model, prompt_ids, n):  # the argmax of the first position's logits, not the last
        cache = new_cache(model)
        logits = model(torch.tensor([prompt_ids]), cache=cache)
        new = []
        for _ in range(n):
            new.append(int(logits[0, 0].argmax()))
            logits = model(torch.tensor([new[-1:]]), cache=cache)
        return new

    with pytest.raises(ExerciseError, match="first difference at new token 0"):
        check_cached_greedy_decode(first_position)


def test_an_error_inside_the_learners_code_keeps_its_cause():
    def broken(model, prompt_ids, n):
        return model(torch.tensor(prompt_ids), cache=new_cache(model))  # 1-D tokens

    with pytest.raises(ExerciseError, match=r"raised ValueError: tokens must have shape \(batch, seq_len\)") as info:
        check_cached_greedy_decode(broken)
    assert isinstance(info.value.__cause__, ValueError)


def test_the_reference_needs_only_the_call_and_the_config():
    """Any module with Llama's forward and a .config will do, such as the learner's MyLlama of notebook 04."""
    class Wrapped(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.config = inner, inner.config

        def forward(self, tokens, targets=None, cache=None):
            return self.inner(tokens, targets, cache)

    torch.manual_seed(0)
    model = Llama(LlamaConfig(vocab_size=40, dim=32, n_layers=2, n_heads=4, max_seq_len=24))
    assert reference(Wrapped(model), [1, 5, 2], 10) == generate(model, [1, 5, 2], 10, temperature=0)


def test_a_cache_shared_between_calls_is_caught():
    shared = {}

    def reuse(model, prompt_ids, n):
        cache = shared.setdefault("cache", new_cache(model))
        logits = model(torch.tensor([prompt_ids]), cache=cache)
        new = [int(logits[0, -1].argmax())]
        for _ in range(n - 1):
            new.append(int(model(torch.tensor([new[-1:]]), cache=cache)[0, -1].argmax()))
        return new

    with pytest.raises(ExerciseError, match="the cache already held 14 positions before the prompt"):
        check_cached_greedy_decode(reuse)


def test_only_the_call_and_the_config_may_be_used():
    def with_new_cache(model, prompt_ids, n):  # Llama.new_cache: the learner's MyLlama need not have it
        cache = model.new_cache(1)
        logits = model(torch.tensor([prompt_ids]), cache=cache)
        new = [int(logits[0, -1].argmax())]
        for _ in range(n - 1):
            new.append(int(model(torch.tensor([new[-1:]]), cache=cache)[0, -1].argmax()))
        return new

    with pytest.raises(ExerciseError, match="used model.new_cache: use nothing but model.tokens, cache=cache."):
        check_cached_greedy_decode(with_new_cache)


def test_an_error_before_the_first_call_shows_the_learners_error():
    def typo(model, prompt_ids, n):
        return model(torch.tensor([prompt_ids]), cache=KVCache(model.config, 1, dtype=torch.float32, devce="cpu"))

    headline = r"^cached_greedy_decode\(model, \[1, 7, 3\], 12\) raised TypeError"
    with pytest.raises(ExerciseError, match=headline) as info:
        check_cached_greedy_decode(typo)
    assert "never called the model" not in str(info.value) and isinstance(info.value.__cause__, TypeError)


def test_calling_forward_directly_is_named():
    def through_forward(model, prompt_ids, n):  # the right ids, but past the hooks a model call runs
        cache, new = new_cache(model), []
        logits = model.forward(torch.tensor([prompt_ids]), cache=cache)
        for _ in range(n):
            new.append(int(logits[0, -1].argmax()))
            logits = model.forward(torch.tensor([new[-1:]]), cache=cache)
        return new

    with pytest.raises(ExerciseError, match=r"never called the model: .* not model\.forward\(\.\.\.\)"):
        check_cached_greedy_decode(through_forward)


def test_a_model_argument_reads_as_model_not_its_repr():
    from llama_course.classroom.exercises.base import describe

    model = Llama(LlamaConfig(vocab_size=40, dim=32, n_layers=2, n_heads=4, max_seq_len=24))
    assert describe((model, [1, 2], 3)) == "model, [1, 2], 3"
