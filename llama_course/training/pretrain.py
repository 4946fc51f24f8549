"""A whole pretraining run, as ``llama-course pretrain`` does it: the data and tokenizer asked for, a model of
the preset's shape, the training loop with checkpoints, and a last report (validation per language, a sample).

The command line only turns its options into a :class:`PretrainRun`; a notebook can build one too.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from ..config import LlamaConfig
from ..data.batches import TokenDataset, story_datasets, text_datasets
from ..data.corpus import DEFAULT_STORIES, load_corpus
from ..data.sources import load_text
from ..data.tokenizer import CharTokenizer, Tokenizer, course_tokenizer
from ..files import CourseError
from ..generate import complete
from ..model import Llama
from ..runtime import pick_device, seed_everything
from .checkpoint import check_checkpoint_out, has_checkpoint, load_checkpoint, save_checkpoint, update_state
from .loop import History, evaluate, train
from .recipe import TrainConfig, autocast_dtype


@dataclass
class PretrainRun:
    """Everything a pretraining run needs to know; the defaults are the command line's."""

    out: str = "runs/pretrain"
    resume: bool = False  # continue the run saved in ``out``
    weights_only: bool = False  # at the end, drop the optimizer state from the checkpoint
    text: str | None = None  # a file, a folder or a URL; None: the embedded stories
    language: str = "en"  # the stories' language: en, zh or both
    stories: int = DEFAULT_STORIES
    tokenizer: str | None = None  # for ``text``: sentencepiece (default), char or course
    vocab_size: int = 2048  # SentencePiece vocabulary for ``text``
    download_timeout: float = 300.0
    max_download_mb: int = 200
    preset: str = "tiny"
    dim: int | None = None
    layers: int | None = None
    heads: int | None = None
    kv_heads: int | None = None
    steps: int = 1000
    batch_size: int = 16
    grad_accum: int = 1
    context: int = 128
    lr: float = 3e-3
    warmup: int | None = None  # default: 10% of the steps, at most 100
    eval_every: int = 100
    precision: str = "auto"
    compile: bool = False
    device: str | None = None
    seed: int = 0
    command: str = ""  # how the run was started, kept in the checkpoint


def pretrain(run: PretrainRun) -> History:
    """Pretrain a model as ``run`` says and leave a checkpoint in ``run.out``; return the training history."""
    check_checkpoint_out(run.out)  # before any work: a folder that cannot take the checkpoint is refused now
    rank, ddp_device = _init_distributed(run.device)
    say = print if rank == 0 else (lambda *a, **k: None)
    tokenizer, train_data, val_sets, source = _pretrain_data(run, say)
    val_data = val_sets["all"]
    base = LlamaConfig.preset(run.preset)
    changes = {"dim": run.dim, "n_layers": run.layers, "n_heads": run.heads, "n_kv_heads": run.kv_heads}
    changes = {k: v for k, v in changes.items() if v is not None}
    if "n_heads" in changes and "n_kv_heads" not in changes:
        changes["n_kv_heads"] = changes["n_heads"]
    config = base.replace(**changes, vocab_size=len(tokenizer), max_seq_len=max(base.max_seq_len, run.context))
    train_config = TrainConfig(
        steps=run.steps, batch_size=run.batch_size, grad_accum=run.grad_accum, lr=run.lr,
        warmup_steps=min(100, run.steps // 10) if run.warmup is None else run.warmup,
        eval_every=run.eval_every, precision=run.precision, compile=run.compile, seed=run.seed,
    )
    device = ddp_device or pick_device(run.device)
    seed_everything(run.seed)
    model = Llama(config).to(device)
    say(f"data: {source}: {len(train_data):,} training tokens, {len(val_data):,} validation tokens")
    say(f"model: {model.num_params():,} parameters (dim {config.dim}, {config.n_layers} layers, "
        f"{config.n_heads} heads, {config.n_kv_heads} kv heads), on {device}")
    about = {"data": source, "command": run.command}
    history = train(model, train_data, val_data, train_config, checkpoint=run.out, tokenizer=tokenizer,
                    resume=run.resume, about=about)
    if rank == 0 and not history.interrupted:
        _finish(run, model, tokenizer, val_sets, history, autocast_dtype(device, run.precision))
    if dist.is_initialized():
        dist.destroy_process_group()
    return history


def _init_distributed(requested: str | None = None) -> tuple[int, torch.device | None]:
    """Under ``torchrun`` (WORLD_SIZE > 1) join the process group: NCCL with one GPU per process when CUDA is
    there and ``--device`` does not say otherwise, gloo on the CPU."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, None
    use_cuda = torch.cuda.is_available() and (requested is None or requested.startswith("cuda"))
    if requested is not None and not use_cuda and requested != "cpu":
        raise CourseError(f"under torchrun, --device must be cpu or cuda, got {requested!r}")
    device = torch.device("cpu")
    if use_cuda:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if local_rank >= torch.cuda.device_count():
            raise CourseError(f"process {local_rank} has no GPU of its own ({torch.cuda.device_count()} visible): "
                              "start at most one process per GPU, or pass --device cpu")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if use_cuda else "gloo")
    return dist.get_rank(), device


def _resumed_tokenizer(run: PretrainRun, say) -> Tokenizer | CharTokenizer | None:
    """With ``resume`` and a checkpoint in ``out``: the tokenizer saved in it, which the weights were trained
    with (a new one would give the old weights new token meanings). None when there is nothing to resume."""
    if not run.resume:
        return None
    if not has_checkpoint(run.out):
        say(f"--resume: no checkpoint in {run.out} yet, so this is a fresh run")
        return None
    tokenizer = load_checkpoint(run.out).tokenizer
    if tokenizer is None:
        raise CourseError(f"--resume: {run.out} has no tokenizer saved with it, so its token ids mean nothing "
                          "known; start a fresh run in another --out")
    say(f"--resume: using the tokenizer saved in {run.out} ({len(tokenizer)} ids)")
    return tokenizer


def _pretrain_data(run: PretrainRun, say) -> tuple[Tokenizer | CharTokenizer, TokenDataset, dict[str, TokenDataset],
                                                   str]:
    """The tokenizer, the training data, the validation sets (all, and per language) and a line describing them."""
    resumed = _resumed_tokenizer(run, say)
    if run.text is None:
        if run.tokenizer not in ("course", None):
            raise CourseError("the embedded corpus uses the course tokenizer; --tokenizer is for --text")
        corpus = load_corpus(n_stories=run.stories, seed=run.seed)
        tokenizer = resumed or course_tokenizer()
        train_data, val_data = story_datasets(corpus, tokenizer, run.context, run.language)
        source = f"the course corpus ({len(corpus.train)} + {len(corpus.val)} stories, language {run.language})"
        languages = ("en", "zh") if run.language == "both" else ()
        by_language = {lang: story_datasets(corpus, tokenizer, run.context, lang)[1] for lang in languages}
        return tokenizer, train_data, {"all": val_data, **by_language}, source
    text = load_text(run.text, timeout_s=run.download_timeout, max_bytes=run.max_download_mb * 2**20)
    kind = "saved" if resumed else run.tokenizer or "sentencepiece"
    if resumed:
        tokenizer = resumed
    elif kind == "char":
        tokenizer = CharTokenizer.from_text(text)
    elif kind == "course":
        tokenizer = course_tokenizer()
    else:
        try:  # the checkpoint keeps a copy of the tokenizer
            with tempfile.TemporaryDirectory() as tmp:
                tokenizer = Tokenizer.train(text, Path(tmp) / "tokenizer.model", vocab_size=run.vocab_size)
        except ValueError as e:
            raise CourseError(f"{e}\n(choose another --vocab-size, or use --tokenizer char)") from None
    say(f"tokenizer: {kind}, {len(tokenizer)} ids")
    train_data, val_data = text_datasets(text, tokenizer, run.context)
    return tokenizer, train_data, {"all": val_data}, f"{run.text} ({len(text):,} characters)"


def _finish(run: PretrainRun, model: Llama, tokenizer, val_sets: dict[str, TokenDataset], history: History,
            dtype: torch.dtype | None) -> None:
    """Validation loss on every validation token (and per language), written into the checkpoint; a sample."""
    losses = {name: evaluate(model, data, run.batch_size, dtype=dtype) for name, data in val_sets.items()}
    update_state(run.out, metrics={name: {"val_loss": loss, "val_perplexity": math.exp(loss),
                                          "val_tokens": len(val_sets[name])} for name, loss in losses.items()})
    print(f"after {history.step[-1]} steps, {history.tokens:,} tokens, {history.seconds:.0f} s:")
    for name, loss in losses.items():
        which = "" if name == "all" else f", {name} stories only"
        print(f"  validation loss {loss:.3f} nats/token, perplexity {math.exp(loss):.2f} "
              f"({len(val_sets[name]):,} validation tokens{which})")
    if run.weights_only:
        saved = load_checkpoint(run.out)
        state = {k: v for k, v in saved.state.items() if k not in ("optimizer", "scaler", "tokenizer")}
        save_checkpoint(run.out, saved.model, saved.tokenizer, state=state)
    print(f"checkpoint: {run.out}" + (" (weights only: it cannot be resumed)" if run.weights_only else ""))
    prompt = "Once upon a time" if run.text is None and run.language != "zh" else ""
    print("sample: " + complete(model, tokenizer, prompt, 60, temperature=0.8, seed=run.seed))
