"""A fine-tuning run from start to saved folder, as ``llama-course finetune`` does it, and saving and loading a
fine-tuned model: a whole checkpoint, or only the LoRA adapters (and a classifier's head) beside the name of the
base model they apply to."""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data.corpus import DEFAULT_STORIES, load_corpus
from ..data.preferences import preference_pairs
from ..files import CourseError, check_replaceable, read_json, read_safetensors, replace_folder, write_safetensors
from ..lora import apply_lora, load_adapters, lora_layers, save_adapters
from ..model import Llama
from ..runtime import pick_device, seed_everything
from .checkpoint import CHECKPOINT_FILES, course_model, load_checkpoint, write_checkpoint_files
from .classify import LABELS, LlamaClassifier, encode_texts, evaluate_classifier, story_labels, train_classifier
from .dpo import encode_pairs, fitting_pairs, pair_logprobs, preference_scores, train_dpo
from .instruct import INSTRUCT_TASKS, exact_match, story_examples, train_instructions, unseen
from .loop import History
from .recipe import TrainConfig

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
    backbone = model.backbone if isinstance(model, LlamaClassifier) else model
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
        if tokenizer is None:
            raise CourseError(f"{folder}: the classifier needs a tokenizer (for its pad id), and the checkpoint it "
                              "builds on holds none")
        classifier = LlamaClassifier(model, info["labels"], tokenizer.pad_id)
        expected = tuple(classifier.score.weight.shape)
        if "score.weight" not in head or tuple(head["score.weight"].shape) != expected:
            raise CourseError(f"the classifier head saved in {folder} is not a score.weight of shape {expected}")
        classifier.score.load_state_dict({"weight": head["score.weight"]})
        return classifier.to(device).eval(), tokenizer, info
    return model.to(device).eval(), tokenizer, info


@dataclass
class FinetuneRun:
    """Everything a fine-tuning run of ``llama-course finetune`` needs to know; the defaults are the command line's."""

    task: str  # "classify" (a head on a story label), "instruct" (answer questions, translate) or "dpo" (preferences)
    checkpoint: str | None = None  # the model to start from; None: the course model
    out: str = "runs/finetune"
    stories: int = DEFAULT_STORIES
    label: str = "happy_ending"  # classify: happy_ending or shape
    language: str = "en"  # classify: the stories' language
    tasks: Sequence[str] = INSTRUCT_TASKS  # instruct: the kinds of example
    eval: int = 150  # instruct: held-out examples to score; dpo: held-out preference pairs
    beta: float = 0.1  # dpo: the strength of the pull towards the reference
    sft_steps: int = 60  # dpo: instruction-tuning steps first (0 when the checkpoint is instruction-tuned already)
    lora: bool = False
    rank: int = 8
    alpha: float = 16.0
    targets: str = "wq,wk,wv,wo,w1,w2,w3"
    steps: int = 300
    batch_size: int = 16
    lr: float | None = None  # None: 1e-3, and 1e-4 for dpo
    device: str | None = None
    seed: int = 0
    command: str = ""  # how the run was started, kept in finetune.json


def finetune(run: FinetuneRun) -> dict[str, Any]:
    """Fine-tune as ``run`` says, print the held-out scores before and after, save to ``run.out``; return what
    was saved in its ``finetune.json``."""
    if run.task == "dpo" and run.lora:
        raise ValueError("finetune dpo trains every weight (its reference is the instruction-tuned model, which a "
                         "LoRA folder could not name): leave out --lora")
    if not run.beta > 0 or run.sft_steps < 0:
        raise ValueError(f"need beta > 0 and sft_steps >= 0, got {run.beta} and {run.sft_steps}")
    out = check_finetune_out(run.out, run.lora)  # before any work, not at the save
    device = pick_device(run.device)
    seed_everything(run.seed)
    base = course_model(device) if run.checkpoint is None else load_checkpoint(run.checkpoint, device)
    model, tokenizer = base.model, base.tokenizer
    corpus = load_corpus(n_stories=run.stories, seed=0)
    tasks = {"classify": _classify_task, "instruct": _instruct_task, "dpo": _dpo_task}
    if run.task not in tasks:
        raise ValueError(f"task must be one of {sorted(tasks)}, got {run.task!r}")
    task = tasks[run.task](run, model, tokenizer, corpus)
    before = task.score()
    print(f"before: {_scores_line(before)}")
    if run.lora:
        apply_lora(model, tuple(run.targets.split(",")), run.rank, run.alpha)
    lr = run.lr if run.lr is not None else 1e-4 if run.task == "dpo" else 1e-3
    config = TrainConfig(steps=run.steps, batch_size=run.batch_size, lr=lr,
                         warmup_steps=min(20, run.steps // 10), weight_decay=0.0, seed=run.seed)
    history = task.train(config)
    after = task.score()
    print(f"after {len(history.loss)} steps, {history.seconds:.0f} s, {history.trainable:,} of {history.total:,} "
          f"parameters trained: {_scores_line(after)}")
    info = {"task": run.task, "base": str(run.checkpoint or "course-model"), "before": before, "after": after,
            "training": dataclasses.asdict(history), "command": run.command, **task.about}
    save_finetuned(out, task.model, tokenizer, info)
    print(f"saved to {out}" + (" (the adapters only; the base model is not copied)" if run.lora else ""))
    return info


@dataclass
class _Task:
    model: Llama | LlamaClassifier
    score: Callable[[], dict[str, Any]]  # held-out scores
    train: Callable[[TrainConfig], History]
    about: dict[str, Any]  # what finetune.json records about the task


def _classify_task(run: FinetuneRun, model: Llama, tokenizer, corpus) -> _Task:
    """A head on the story label, scored by held-out accuracy (and balanced accuracy, and the confusion)."""
    classifier = LlamaClassifier(model, LABELS[run.label], tokenizer.pad_id).to(model.device)
    text = "text" if run.language == "en" else "text_zh"
    context = model.config.max_seq_len
    train_x = encode_texts(tokenizer, [getattr(s, text) for s in corpus.train], context)
    val_x = encode_texts(tokenizer, [getattr(s, text) for s in corpus.val], context)
    train_y = classifier.label_ids(story_labels(corpus.train, run.label))
    val_y = classifier.label_ids(story_labels(corpus.val, run.label))

    def score() -> dict[str, Any]:
        scores = evaluate_classifier(classifier, val_x, val_y)
        return {"accuracy": scores.accuracy, "balanced_accuracy": scores.balanced_accuracy,
                "confusion": scores.confusion.tolist()}

    def fit(config: TrainConfig) -> History:
        classifier.score.requires_grad_(True)  # with LoRA the head still learns whole
        return train_classifier(classifier, train_x, train_y, config)

    return _Task(classifier, score, fit, {"label": run.label, "language": run.language})


def _instruct_task(run: FinetuneRun, model: Llama, tokenizer, corpus) -> _Task:
    """Instruction tuning on the stories' questions and translations, scored by held-out exact match."""
    context = model.config.max_seq_len
    train_set = [e for e in story_examples(corpus.train, tokenizer, context, seed=run.seed) if e.kind in run.tasks]
    val_set = [e for e in unseen(story_examples(corpus.val, tokenizer, context), train_set) if e.kind in run.tasks]
    val_set = random.Random(0).sample(val_set, min(run.eval, len(val_set)))
    return _Task(model, lambda: exact_match(model, tokenizer, val_set),
                 lambda config: train_instructions(model, tokenizer, train_set, config), {"tasks": list(run.tasks)})


def _dpo_task(run: FinetuneRun, model: Llama, tokenizer, corpus) -> _Task:
    """DPO on preference pairs from the stories, after ``run.sft_steps`` of instruction tuning on their English
    questions; the reference is the model as DPO starts. Scored by the held-out win rate and reward margins."""
    context = model.config.max_seq_len
    if run.sft_steps:
        examples = [e for e in story_examples(corpus.train, tokenizer, context, seed=run.seed) if e.kind == "qa_en"]
        sft = TrainConfig(steps=run.sft_steps, batch_size=16, lr=1e-3, warmup_steps=min(20, run.sft_steps // 10),
                          weight_decay=0.0, seed=run.seed)
        history = train_instructions(model, tokenizer, examples, sft)
        print(f"instruction tuning first: {run.sft_steps} steps, loss {history.loss[0]:.2f} -> {history.loss[-1]:.2f}")
    reference = copy.deepcopy(model).eval().requires_grad_(False)
    train_set = fitting_pairs(tokenizer, preference_pairs(corpus.train, seed=run.seed), context)
    train_set = random.Random(run.seed).sample(train_set, min(len(train_set), run.steps * run.batch_size))
    val_set = fitting_pairs(tokenizer, preference_pairs(corpus.val, seed=run.seed + 1), context)
    val_set = random.Random(0).sample(val_set, min(run.eval, len(val_set)))
    if not train_set or not val_set:
        raise ValueError(f"{run.stories} stories give too few preference pairs: use more --stories")
    ref_val = pair_logprobs(reference, tokenizer, encode_pairs(tokenizer, val_set, context))
    return _Task(model, lambda: preference_scores(model, ref_val, tokenizer, val_set, run.beta),
                 lambda config: train_dpo(model, reference, tokenizer, train_set, config, run.beta),
                 {"beta": run.beta, "sft_steps": run.sft_steps, "pairs": len(train_set)})


def _scores_line(scores: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:.3f}" if k == "margin" else f"{k} {v:.1%}" for k, v in scores.items()
                     if isinstance(v, float))
