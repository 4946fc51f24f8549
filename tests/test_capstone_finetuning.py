"""Notebook 07's experiments: the loss-mask ablation needs instruction tuning with the loss on every token."""

import torch

from llama_course.config import LlamaConfig
from llama_course.data.tokenizer import course_tokenizer
from llama_course.model import Llama
from llama_course.training.instruct import Example, encode_example, encode_examples, train_instructions
from llama_course.training.recipe import TrainConfig

TOKENIZER = course_tokenizer()


def test_without_the_mask_every_next_token_is_a_target():
    example = Example("Who is the story about?", "Mia")
    inputs, masked = encode_example(TOKENIZER, example, max_len=64)
    same_inputs, every = encode_example(TOKENIZER, example, max_len=64, mask_prompt=False)
    assert same_inputs == inputs
    end = TOKENIZER.piece_to_id("<|end|>")
    assert every == inputs[1:] + [end]  # the inputs shifted by one, the closing <|end|> last
    kept = [t for t in masked if t != -100]
    assert every[len(every) - len(kept):] == kept  # the answer's targets are the same either way
    assert encode_examples(TOKENIZER, [example], 64, mask_prompt=False) == [(inputs, every)]


def test_training_on_every_token_learns_the_prompt_too():
    """Same seed, same batches: the unmasked run lowers the loss on the prompt, the masked one does not see it."""
    examples = [Example("What colour is the sky?", "blue"), Example("Name a pet.", "cat")]
    config = TrainConfig(steps=30, batch_size=4, lr=1e-2, warmup_steps=3)
    prompt_loss = {}
    for mask in (True, False):
        torch.manual_seed(0)
        model = Llama(LlamaConfig(vocab_size=len(TOKENIZER), dim=32, n_layers=2, n_heads=4, n_kv_heads=2,
                                  max_seq_len=32))
        report = train_instructions(model, TOKENIZER, examples, config, progress=False, mask_prompt=mask)
        assert report.loss[-1] < report.loss[0]
        inputs, every = encode_example(TOKENIZER, examples[0], 32, mask_prompt=False)
        prompt = [i for i, t in enumerate(encode_example(TOKENIZER, examples[0], 32)[1]) if t == -100]
        with torch.no_grad():
            logits = model(torch.tensor([inputs]))[0]
        prompt_loss[mask] = torch.nn.functional.cross_entropy(logits[prompt], torch.tensor(every)[prompt]).item()
    assert prompt_loss[False] < prompt_loss[True] / 2
