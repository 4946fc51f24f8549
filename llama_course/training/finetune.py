"""Fine-tuning a pretrained LLaMA: a classification head, and instruction tuning with the loss on answers only.

Both reuse the pretraining recipe (AdamW, warmup + cosine, clipping) on a small labelled dataset, and
work the same with every weight trainable or with LoRA adapters (:mod:`llama_course.lora`).
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..classroom.progress import progress_bar
from ..data.corpus import SHAPES, Story
from ..files import CourseError, check_replaceable, read_json, read_safetensors, replace_folder, write_safetensors
from ..generate import generate
from ..lora import load_adapters, lora_layers, save_adapters
from ..model import Llama
from .checkpoint import CHECKPOINT_FILES, course_model, load_checkpoint, write_checkpoint_files
from .loop import TrainConfig, lr_at, make_optimizer

# ---------------------------------------------------------------------------------------------------------------------
# Classification: a head on the hidden state of the last real token, as transformers' LlamaForSequenceClassification.

LABELS = {"happy_ending": ("sad", "happy"), "shape": SHAPES}


def last_token_index(tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Index of the last token that is not padding in each row (the rightmost one, whatever the padding side)."""
    positions = torch.arange(tokens.size(1), device=tokens.device)
    return (positions * (tokens != pad_id)).argmax(-1)


class LlamaClassifier(nn.Module):
    """A pretrained ``Llama`` read by a linear ``score`` head (no bias) at the last non-pad position.

    The causal mask means that position has seen the whole text, so its hidden state can summarise it.
    """

    def __init__(self, backbone: Llama, labels: Sequence[str], pad_id: int) -> None:
        super().__init__()
        labels = tuple(labels)
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise ValueError(f"labels must be at least two distinct names, got {labels}")
        self.backbone, self.labels, self.pad_id = backbone, labels, pad_id
        if not backbone.config.tie_embeddings:
            backbone.output.requires_grad_(False)  # the language-model head is not used: nothing to train there
        weight = backbone.tok_embeddings.weight
        self.score = nn.Linear(backbone.config.dim, len(labels), bias=False, device=weight.device, dtype=weight.dtype)
        nn.init.normal_(self.score.weight, std=0.02)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Class logits (batch, n_labels)."""
        hidden = self.backbone.hidden_states(tokens)
        last = last_token_index(tokens, self.pad_id)
        return self.score(hidden[torch.arange(tokens.size(0), device=tokens.device), last])

    def label_ids(self, names: Sequence[str]) -> torch.Tensor:
        """The head's index of each label name; a name the head does not have is a clear error."""
        unknown = sorted({n for n in names if n not in self.labels}, key=str)
        if unknown:
            raise ValueError(f"labels {unknown} are not among this head's labels {list(self.labels)}")
        return torch.tensor([self.labels.index(n) for n in names], dtype=torch.long)


def story_labels(stories: Sequence[Story], label: str = "happy_ending") -> list[str]:
    """The name of each story's label: ``"happy"``/``"sad"`` for ``happy_ending``, or the story's ``shape``."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {list(LABELS)}, got {label!r}")
    if label == "happy_ending":
        return [LABELS[label][int(s.happy_ending)] for s in stories]
    return [getattr(s, label) for s in stories]


def encode_texts(tokenizer, texts: Sequence[str], max_len: int) -> torch.Tensor:
    """``<s> text`` for each text, right-padded with the pad id into one (n, longest) tensor. A text longer
    than ``max_len`` keeps ``<s>`` and its *last* tokens: for a story, the ending is what decides its label."""
    if isinstance(texts, str) or not texts:
        raise ValueError("encode_texts needs a non-empty list of texts")
    rows = [[tokenizer.bos_id] + ids[max(0, len(ids) - (max_len - 1)):] for ids in tokenizer.encode_batch(texts)]
    return pad(rows, tokenizer.pad_id)


def pad(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    """Lists of ids right-padded with ``value`` into one long tensor."""
    width = max(len(r) for r in rows)
    return torch.tensor([list(r) + [value] * (width - len(r)) for r in rows], dtype=torch.long)


@dataclass
class Scores:
    """Accuracy and the confusion matrix (rows: true label, columns: predicted) of a classifier."""

    labels: tuple[str, ...]
    confusion: torch.Tensor

    @property
    def accuracy(self) -> float:
        return float(self.confusion.diag().sum() / self.confusion.sum())

    @property
    def balanced_accuracy(self) -> float:
        """Mean recall over the classes: 1/n_labels for always guessing one class, whatever the class sizes."""
        per_class = self.confusion.diag() / self.confusion.sum(1).clamp(min=1)
        return float(per_class[self.confusion.sum(1) > 0].mean())


@torch.no_grad()
def predict(classifier: LlamaClassifier, tokens: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """The predicted label index of every row of ``tokens``."""
    classifier.eval()
    device = classifier.score.weight.device
    out = [classifier(_trim(tokens[i:i + batch_size], classifier.pad_id).to(device)).argmax(-1).cpu()
           for i in range(0, len(tokens), batch_size)]
    return torch.cat(out)


def evaluate_classifier(classifier: LlamaClassifier, tokens: torch.Tensor, labels: torch.Tensor) -> Scores:
    """Predict every row and tally the confusion matrix against ``labels`` (label indices)."""
    predicted = predict(classifier, tokens)
    n = len(classifier.labels)
    confusion = torch.bincount(labels * n + predicted, minlength=n * n).view(n, n)
    return Scores(classifier.labels, confusion)


def train_classifier(classifier: LlamaClassifier, tokens: torch.Tensor, labels: torch.Tensor,
                     config: TrainConfig, progress: bool = True) -> FitReport:
    """Fine-tune ``classifier`` (all its trainable parameters) with cross-entropy on the labels."""
    if len(tokens) != len(labels):
        raise ValueError(f"{len(tokens)} texts but {len(labels)} labels")
    if int(labels.min()) < 0 or int(labels.max()) >= len(classifier.labels):
        raise ValueError(f"label indices must be in [0, {len(classifier.labels)}) for this head")
    device = classifier.score.weight.device

    def batch_loss(rows: list[int]) -> tuple[torch.Tensor, int]:
        x = _trim(tokens[rows], classifier.pad_id).to(device)
        return F.cross_entropy(classifier(x).float(), labels[rows].to(device)), int((x != classifier.pad_id).sum())

    return fit(classifier, len(tokens), batch_loss, config, progress)


def _trim(tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Drop the columns that are padding in every row: a batch costs its longest text, not the longest overall."""
    used = int((tokens != pad_id).any(0).nonzero().max()) + 1
    return tokens[:, :used]


# ---------------------------------------------------------------------------------------------------------------------
# Instruction tuning: "<s><|user|>instruction<|end|><|assistant|>answer<|end|>", learning the answer only.


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


def encode_example(tokenizer, example: Example, max_len: int,
                   ids: tuple[list[int], list[int]] | None = None) -> tuple[list[int], list[int]]:
    """(inputs, targets) for one example: targets are the inputs shifted by one, with -100 (ignored by the
    loss) wherever the next token is still part of the prompt, so only the answer and its ``<|end|>`` are learned.
    ``ids`` may give the instruction's and the answer's token ids, already encoded."""
    instruction_ids, answer_ids = ids or (tokenizer.encode(example.instruction), tokenizer.encode(example.answer))
    prompt = chat_prompt_ids(tokenizer, example.instruction, instruction_ids)
    answer = [*answer_ids, _chat_tokens(tokenizer)[2]]
    if _tokens_needed(instruction_ids, answer_ids) > max_len:
        raise ValueError(f"an example needs {len(prompt) + len(answer) - 1} tokens (prompt {len(prompt)} + answer "
                         f"{len(answer)}) but the model's context is {max_len}: shorten it or leave it out "
                         f"(instruction starts {example.instruction[:40]!r})")
    return (prompt + answer)[:-1], [-100] * (len(prompt) - 1) + answer


def encode_examples(tokenizer, examples: Sequence[Example], max_len: int) -> list[tuple[list[int], list[int]]]:
    """Every example as (inputs, targets); the first that does not fit ``max_len`` is a clear error."""
    if not examples:
        raise ValueError("no examples to encode")
    instructions = tokenizer.encode_batch([e.instruction for e in examples])
    answers = tokenizer.encode_batch([e.answer for e in examples])
    return [encode_example(tokenizer, e, max_len, ids)
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
                       progress: bool = True) -> FitReport:
    """Fine-tune ``model`` (its trainable parameters) on the examples, with the loss on answer tokens only."""
    encoded = encode_examples(tokenizer, examples, model.config.max_seq_len)
    device = model.tok_embeddings.weight.device

    def batch_loss(rows: list[int]) -> tuple[torch.Tensor, int]:
        x = pad([encoded[r][0] for r in rows], tokenizer.pad_id).to(device)
        y = pad([encoded[r][1] for r in rows], -100).to(device)
        return model(x, y)[1], int((x != tokenizer.pad_id).sum())

    return fit(model, len(examples), batch_loss, config, progress)


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


# ---------------------------------------------------------------------------------------------------------------------
# The loop both tasks share, and what it measured.


@dataclass
class FitReport:
    """What a fine-tuning run did: its losses, its time, and what it trained and kept in memory."""

    loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    tokens: int = 0
    trainable: int = 0
    total: int = 0
    memory: dict[str, int] = field(default_factory=dict)  # bytes: weights, gradients, optimizer state

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / max(self.seconds, 1e-9)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def training_memory(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, int]:
    """Bytes held by the weights, the gradients and the optimizer's state, measured from the tensors themselves."""
    params = list(model.parameters())
    state = [v for s in optimizer.state.values() for v in s.values() if torch.is_tensor(v) and v.dim() > 0]
    return {"weights": sum(p.numel() * p.element_size() for p in params),
            "gradients": sum(p.grad.numel() * p.grad.element_size() for p in params if p.grad is not None),
            "optimizer": sum(v.numel() * v.element_size() for v in state)}


def fit(model: nn.Module, n_examples: int, batch_loss: Callable[[list[int]], tuple[torch.Tensor, int]],
        config: TrainConfig, progress: bool = True) -> FitReport:
    """``config.steps`` AdamW steps on random batches of example indices (seeded by ``config.seed``):
    ``batch_loss(rows)`` returns the batch's loss and its number of tokens. Stops cleanly on interrupt."""
    if n_examples < 1:
        raise ValueError("no training examples")
    if config.grad_accum != 1 or config.compile or config.precision in ("bf16", "fp16"):
        raise ValueError("fine-tuning takes one float32 batch per step, uncompiled: set grad_accum=1, compile=False "
                         "and precision='fp32'")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    report = FitReport(trainable=sum(p.numel() for p in params), total=sum(p.numel() for p in model.parameters()))
    optimizer = make_optimizer(model, config)
    rng = random.Random(config.seed)
    model.train()
    began = time.perf_counter()
    bar = progress_bar(range(config.steps), disable=not progress, desc="fine-tuning")
    try:
        for step in bar:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, config)
            rows = [rng.randrange(n_examples) for _ in range(config.batch_size)]
            loss, n_tokens = batch_loss(rows)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            optimizer.step()
            if step == 0:
                report.memory = training_memory(model, optimizer)
            optimizer.zero_grad(set_to_none=True)
            report.loss.append(loss.item())
            report.tokens += n_tokens
            bar.set_postfix(loss=f"{report.loss[-1]:.3f}")
    except KeyboardInterrupt:
        print(f"interrupted after {len(report.loss)} steps: the model keeps its weights")
    finally:
        bar.close()
        report.seconds = time.perf_counter() - began
        model.eval()
    return report


# ---------------------------------------------------------------------------------------------------------------------
# Saving and loading a fine-tuned model: a full checkpoint, or only the adapters (and head) beside a named base.

FINETUNE_FILE, ADAPTER_FILE, HEAD_FILE = "finetune.json", "adapter.safetensors", "head.safetensors"
FULL_FILES = CHECKPOINT_FILES | {FINETUNE_FILE, HEAD_FILE}  # what a full fine-tune's folder holds
LORA_FILES = frozenset({FINETUNE_FILE, ADAPTER_FILE})  # and a LoRA fine-tune's


def check_finetune_out(folder: str | Path, lora: bool) -> Path:
    """Refuse an output folder that holds anything but an earlier fine-tuning run of the same kind (LoRA or
    full: a mixture would load wrongly), or that cannot be written. Call it before training starts."""
    kind = "LoRA fine-tuning run" if lora else "full fine-tuning run"
    return check_replaceable(folder, LORA_FILES if lora else FULL_FILES, FINETUNE_FILE, kind)


def save_finetuned(folder: str | Path, model: Llama | LlamaClassifier, tokenizer, info: dict[str, Any]) -> Path:
    """Write a fine-tuned model to ``folder``. With LoRA only the adapters (and a classifier's head) are written,
    and ``info["base"]`` names the checkpoint they apply to; otherwise a whole checkpoint. ``info`` (task,
    settings, scores) goes to ``finetune.json``. The folder is written whole beside the old one and swapped
    in, so a crash leaves the earlier run or the new one; only an earlier run of the same kind is replaced."""
    classifier = model if isinstance(model, LlamaClassifier) else None
    backbone = classifier.backbone if classifier else model
    head = {"score.weight": classifier.score.weight.detach().cpu().contiguous()} if classifier else {}
    info = {**info, "labels": list(classifier.labels) if classifier else None, "lora": bool(lora_layers(backbone))}
    if info["lora"] and "base" not in info:
        raise ValueError("saving adapters needs info['base']: the checkpoint they apply to")
    text = json.dumps(info, indent=2, ensure_ascii=False) + "\n"

    def write(tmp: Path) -> None:
        if info["lora"]:
            save_adapters(backbone, tmp / ADAPTER_FILE, extra=head)
        else:
            write_checkpoint_files(tmp, backbone, tokenizer, state={"finetune": info})
            if head:
                write_safetensors(head, tmp / HEAD_FILE)
        (tmp / FINETUNE_FILE).write_text(text, encoding="utf-8")

    return replace_folder(check_finetune_out(folder, info["lora"]), write)


def read_finetune_info(folder: Path) -> dict[str, Any]:
    """The ``finetune.json`` of a finished run, checked for the fields loading needs."""
    file = folder / FINETUNE_FILE
    if not file.is_file():
        raise FileNotFoundError(f"{folder} holds no finished fine-tuning run (no {FINETUNE_FILE})")
    info = read_json(file, "fine-tuning record")
    if not isinstance(info, dict) or not isinstance(info.get("lora"), bool):
        raise CourseError(f"{file} should be a JSON object with 'lora' true or false")
    labels = info.get("labels")
    if labels is not None and not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
        raise CourseError(f"{file}: 'labels' should be a list of label names or null, got {labels!r}")
    if info["lora"] and not isinstance(info.get("base"), str):
        raise CourseError(f"{file}: 'base' should name the checkpoint the adapters apply to")
    return info


def load_finetuned(folder: str | Path, device: torch.device | str = "cpu") -> tuple[Llama | LlamaClassifier, Any,
                                                                                    dict[str, Any]]:
    """(model or classifier, tokenizer, info) from a folder written by :func:`save_finetuned`."""
    folder = Path(folder)
    info = read_finetune_info(folder)
    if info["lora"]:
        base = course_model(device) if info["base"] == "course-model" else load_checkpoint(info["base"], device)
        model, tokenizer = base.model, base.tokenizer
        head = load_adapters(model, folder / ADAPTER_FILE)
    else:
        saved = load_checkpoint(folder, device)
        model, tokenizer = saved.model, saved.tokenizer
        head = read_safetensors(folder / HEAD_FILE) if info["labels"] else {}
    if info["labels"]:
        classifier = LlamaClassifier(model, info["labels"], tokenizer.pad_id)
        expected = tuple(classifier.score.weight.shape)
        if "score.weight" not in head or tuple(head["score.weight"].shape) != expected:
            raise CourseError(f"the classifier head saved in {folder} is not a score.weight of shape {expected}")
        classifier.score.load_state_dict({"weight": head["score.weight"]})
        return classifier.to(device).eval(), tokenizer, info
    return model.to(device).eval(), tokenizer, info
