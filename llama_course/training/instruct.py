"""Instruction tuning: "<s><|user|>instruction<|end|><|assistant|>answer<|end|>", with the loss on the answer
only, trained with the one training loop; greedy answers and exact match to measure it."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..data.batches import pad
from ..data.corpus import Story
from ..generate import generate
from ..model import Llama
from .loop import History, example_loss, train
from .recipe import TrainConfig

INSTRUCT_TASKS = ("qa_en", "qa_zh", "translate")  # the kinds of example story_examples makes


@dataclass(frozen=True)
class Example:
    """An instruction and the answer the model should give; ``kind`` groups examples for evaluation."""

    instruction: str
    answer: str
    kind: str = "task"


def _chat_tokens(tokenizer) -> tuple[int, int, int]:
    ids = tuple(tokenizer.piece_to_id(t) for t in ("<|user|>", "<|assistant|>", "<|end|>"))
    if tokenizer.unk_id in ids:
        raise ValueError("this tokenizer has no chat tokens <|user|>, <|assistant|>, <|end|>: use the course tokenizer")
    return ids


def _tokens_needed(instruction_ids: list[int], answer_ids: list[int]) -> int:
    """Model inputs one example takes: <s> <|user|> instruction <|end|> <|assistant|> answer <|end|>, but the
    last id, which is only ever a target."""
    return len(instruction_ids) + len(answer_ids) + 4


def chat_prompt_ids(tokenizer, instruction: str, instruction_ids: list[int] | None = None) -> list[int]:
    """The ids of ``<s><|user|>instruction<|end|><|assistant|>``: what the model sees before it answers."""
    user, assistant, end = _chat_tokens(tokenizer)
    ids = tokenizer.encode(instruction) if instruction_ids is None else instruction_ids
    return [tokenizer.bos_id, user, *ids, end, assistant]


def encode_example(tokenizer, example: Example, max_len: int, ids: tuple[list[int], list[int]] | None = None,
                   mask_prompt: bool = True) -> tuple[list[int], list[int]]:
    """(inputs, targets) for one example: targets are the inputs shifted by one, with -100 (ignored by the
    loss) wherever the next token is still part of the prompt, so only the answer and its ``<|end|>`` are learned.
    ``ids`` may give the instruction's and the answer's token ids, already encoded. ``mask_prompt=False`` keeps
    every next token as a target, prompt included (the ablation of notebook 07)."""
    instruction_ids, answer_ids = ids or (tokenizer.encode(example.instruction), tokenizer.encode(example.answer))
    prompt = chat_prompt_ids(tokenizer, example.instruction, instruction_ids)
    answer = [*answer_ids, _chat_tokens(tokenizer)[2]]
    if _tokens_needed(instruction_ids, answer_ids) > max_len:
        raise ValueError(f"an example needs {len(prompt) + len(answer) - 1} tokens (prompt {len(prompt)} + answer "
                         f"{len(answer)}) but the model's context is {max_len}: shorten it or leave it out "
                         f"(instruction starts {example.instruction[:40]!r})")
    return (prompt + answer)[:-1], ([-100] * (len(prompt) - 1) if mask_prompt else prompt[1:]) + answer


def encode_examples(tokenizer, examples: Sequence[Example], max_len: int,
                    mask_prompt: bool = True) -> list[tuple[list[int], list[int]]]:
    """Every example as (inputs, targets); the first that does not fit ``max_len`` is a clear error."""
    if not examples:
        raise ValueError("no examples to encode")
    instructions = tokenizer.encode_batch([e.instruction for e in examples])
    answers = tokenizer.encode_batch([e.answer for e in examples])
    return [encode_example(tokenizer, e, max_len, ids, mask_prompt)
            for e, ids in zip(examples, zip(instructions, answers, strict=True), strict=True)]


def story_examples(stories: Sequence[Story], tokenizer, max_len: int, translations_per_story: int = 2,
                   seed: int = 0) -> list[Example]:
    """Instruction examples from the stories: every question about a story in English (``qa_en``) and
    Chinese (``qa_zh``), with the story as context, and ``translations_per_story`` lines to translate from
    English to Chinese (``translate``). Examples longer than ``max_len`` tokens are left out."""
    rng = random.Random(seed)
    examples = []
    for story in stories:
        for question, answer in story.qa:
            examples.append(Example(f"{story.text}\n{question}", answer, "qa_en"))
        for question, answer in story.qa_zh:
            examples.append(Example(f"{story.text_zh}\n{question}", answer, "qa_zh"))
        for en, zh in rng.sample(story.lines, min(translations_per_story, len(story.lines))):
            examples.append(Example(f"Translate into Chinese: {en}", zh, "translate"))
    sizes = zip(tokenizer.encode_batch([e.instruction for e in examples]),
                tokenizer.encode_batch([e.answer for e in examples]), strict=True)
    return [e for e, (i, a) in zip(examples, sizes, strict=True) if _tokens_needed(i, a) <= max_len]


def unseen(examples: Sequence[Example], training: Sequence[Example]) -> list[Example]:
    """The examples whose instruction is not among the training examples': stories are unique, but short
    lines repeat across stories, so a held-out line to translate may have been trained on word for word."""
    seen = {e.instruction for e in training}
    return [e for e in examples if e.instruction not in seen]


def train_instructions(model: Llama, tokenizer, examples: Sequence[Example], config: TrainConfig,
                       progress: bool = True, mask_prompt: bool = True) -> History:
    """Fine-tune ``model`` (its trainable parameters) on the examples, with the loss on answer tokens only
    (``mask_prompt=False``: on every token, prompt included)."""
    encoded = encode_examples(tokenizer, examples, model.config.max_seq_len, mask_prompt)
    device = model.device

    def loss_of(net: nn.Module, rows: list[int]) -> tuple[torch.Tensor, int]:
        x = pad([encoded[r][0] for r in rows], tokenizer.pad_id).to(device)
        y = pad([encoded[r][1] for r in rows], -100).to(device)
        return net(x, y)[1], int((x != tokenizer.pad_id).sum())

    return train(model, example_loss(len(examples), config, loss_of), None, config, progress=progress,
                 desc="fine-tuning")


@torch.no_grad()
def answer(model: Llama, tokenizer, instructions: Sequence[str], max_new_tokens: int = 32) -> list[str]:
    """The model's greedy answer to each instruction, up to its ``<|end|>``."""
    if isinstance(instructions, str):
        raise TypeError("answer takes a list of instructions; for one, write answer(model, tokenizer, [text])")
    model.eval()
    end = _chat_tokens(tokenizer)[2]
    prompts = [chat_prompt_ids(tokenizer, text, ids)
               for text, ids in zip(instructions, tokenizer.encode_batch(instructions), strict=True)]
    room = [min(max_new_tokens, model.config.max_seq_len - len(p)) for p in prompts]
    if min(room) < 1:
        raise ValueError(f"an instruction fills the whole context of {model.config.max_seq_len} tokens")
    outputs: list[list[int]] = [[] for _ in prompts]
    for limit in set(room):  # a prompt near the end of the context may write fewer tokens than the others
        rows = [i for i, r in enumerate(room) if r == limit]
        said = generate(model, [prompts[i] for i in rows], limit, stop_ids=[end], temperature=0)
        for i, out in zip(rows, said, strict=True):
            outputs[i] = out
    return [tokenizer.decode([t for t in out if t != end]).strip() for out in outputs]


def exact_match(model: Llama, tokenizer, examples: Sequence[Example]) -> dict[str, float]:
    """The share of answers equal to the reference (spaces at the ends ignored), per kind and overall ("all")."""
    said = answer(model, tokenizer, [e.instruction for e in examples])
    hits: dict[str, list[bool]] = {}
    for example, text in zip(examples, said, strict=True):
        hits.setdefault(example.kind, []).append(text == example.answer.strip())
    scores = {kind: sum(h) / len(h) for kind, h in sorted(hits.items())}
    scores["all"] = sum(sum(h) for h in hits.values()) / len(examples)
    return scores
