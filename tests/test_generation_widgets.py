"""The sampling playground and the attention-during-generation view build headless and follow their controls."""

import matplotlib
import pytest
import torch

from llama_course import Llama, LlamaConfig
from llama_course.data.tokenizer import course_tokenizer
from llama_course.generate import Sampling, generate, next_token_probs
from llama_course.viz.widgets import ALL, GenerationAttention, SamplingPlayground

matplotlib.use("Agg")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return Llama(LlamaConfig.preset("tiny").replace(n_layers=2))


def test_playground_follows_its_sliders(model):
    playground = SamplingPlayground(model, course_tokenizer(), prompt="Once upon a time", max_new_tokens=10)
    assert bytes(playground.image.value).startswith(PNG) and playground.sample.value.startswith("<b>Once upon")
    before = bytes(playground.image.value)
    playground.top_k.value = 3
    ids, plain, shaped = playground.distributions()
    assert int((shaped > 0).sum()) == 3 and bytes(playground.image.value) != before
    torch.testing.assert_close(plain, model(torch.tensor([ids]))[0, -1].softmax(-1))
    playground.temperature.value = 0.0
    assert int((playground.distributions()[2] > 0).sum()) == 1
    assert playground.settings() == {"temperature": 0.0, "top_k": 3, "top_p": None, "min_p": None}
    playground.prompt.value = "x " * 400
    assert "shorten it" in playground.message.value and playground.sample.value == ""


def test_playground_distribution_is_what_generate_samples_from(model):
    playground = SamplingPlayground(model, course_tokenizer(), max_new_tokens=5)
    playground.top_p.value = 0.3
    ids, _, shaped = playground.distributions()
    logits = model(torch.tensor([ids]))[:, -1]
    torch.testing.assert_close(shaped, next_token_probs(logits, Sampling(top_p=0.3))[0])


def test_generation_attention_steps_through_the_new_tokens(model):
    tokenizer = course_tokenizer()
    view = GenerationAttention(model, tokenizer, "Once upon a time", max_new_tokens=8, seed=1)
    assert view.new_ids == generate(model, tokenizer.encode("Once upon a time", bos=True), 8, seed=1, temperature=0.8)
    n_prompt = len(view.prompt_ids)
    assert view.step.max == 7 and view.layer.value == ALL
    for step in (0, 7):
        view.step.value = step
        row = view.weights()
        assert row.shape == (n_prompt + step,)
        torch.testing.assert_close(row.sum(), torch.tensor(1.0))
    view.layer.value, view.head.value = 1, 2
    with torch.no_grad(), model.capture_attention() as maps:
        model(torch.tensor([view.prompt_ids + view.new_ids[:7]]))
    torch.testing.assert_close(view.weights(), maps[1][0, 2, -1], atol=1e-5, rtol=1e-4)
    assert bytes(view.image.value).startswith(PNG) and view.message.value == ""
    with pytest.raises(TypeError, match="Llama"):
        GenerationAttention(object(), tokenizer)
