"""Pretraining: the loop LLaMA is trained with, small enough to read in one screen.

AdamW (beta1 0.9, beta2 0.95, weight decay 0.1 on matrices only), linear warmup then cosine decay to
10% of the peak learning rate, gradient clipping at 1.0 (Touvron et al. 2023, section 2.3), plus
gradient accumulation, mixed precision where the device supports it, periodic validation,
checkpoints that resume exactly, and multi-process data parallelism under ``torchrun``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..classroom.progress import progress_bar
from ..data.batches import TokenDataset
from ..files import CourseError, remove_stale_temps
from ..model import Llama
from .checkpoint import (
    OPTIMIZER_FILE,
    STATE_FILE,
    check_checkpoint_out,
    has_checkpoint,
    load_checkpoint,
    save_checkpoint,
)


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of a run. The defaults follow LLaMA 1 where a small model allows it."""

    steps: int = 1000
    batch_size: int = 16  # windows per micro-batch (per process)
    grad_accum: int = 1  # micro-batches per optimizer step
    lr: float = 3e-3  # peak learning rate (LLaMA 7B used 3e-4; tiny models take larger steps)
    min_lr_ratio: float = 0.1  # cosine decay ends at 10% of the peak
    warmup_steps: int = 100
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    eval_every: int = 100  # steps between validations and checkpoints; 0 = only at the end
    eval_windows: int = 128  # validation windows per evaluation (a fixed set)
    precision: str = "auto"  # "auto", "fp32", "bf16" or "fp16"
    compile: bool = False  # torch.compile the model and use the fused AdamW: faster, less readable traces
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "grad_accum", "eval_windows"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive int, got {getattr(self, name)!r}")
        if not isinstance(self.eval_every, int) or self.eval_every < 0:
            raise ValueError(f"eval_every must be an int >= 0 (0 = only at the end), got {self.eval_every!r}")
        if not 0 <= self.warmup_steps <= self.steps:
            raise ValueError(f"warmup_steps must be between 0 and steps ({self.steps}), got {self.warmup_steps}")
        if not self.lr > 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"need lr > 0 and 0 <= min_lr_ratio <= 1, got {self.lr} and {self.min_lr_ratio}")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ValueError(f"precision must be 'auto', 'fp32', 'bf16' or 'fp16', got {self.precision!r}")
        object.__setattr__(self, "betas", tuple(self.betas))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return cls(**{k: v for k, v in data.items() if k in {f.name for f in dataclasses.fields(cls)}})


def lr_at(step: int, config: TrainConfig) -> float:
    """Learning rate at ``step``: linear warmup to ``lr``, then cosine decay to ``lr * min_lr_ratio``."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine)


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on the weight matrices only: norm gains are left alone."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, fused=config.compile or None)


def autocast_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """The dtype to autocast to, or None for plain fp32. "auto" is bf16 (or fp16) on CUDA, fp32 elsewhere:
    CPUs without bf16 matrix units run bf16 slower than fp32."""
    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, data: TokenDataset, batch_size: int = 16, max_windows: int | None = None,
    dtype: torch.dtype | None = None,
) -> float:
    """Mean cross-entropy (nats per token) of predicting every next token of the fixed validation windows."""
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for x, y in data.batches(batch_size, max_windows):
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            _, loss = model(x.to(device), y.to(device))
        total, count = total + loss.item() * y.numel(), count + y.numel()
    return total / count


@dataclass
class History:
    """What happened during a run: per-step loss and learning rate, and the validation losses."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    tokens: int = 0  # training tokens seen, all processes together
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def val_perplexity(self) -> float:
        """exp(last validation loss): the effective number of tokens the model hesitates between."""
        return math.exp(self.val_loss[-1]) if self.val_loss else float("nan")


@dataclass
class StepInfo:
    """What a callback sees after each optimizer step."""

    step: int  # steps done so far
    loss: float
    lr: float
    val_loss: float | None  # set on evaluation steps
    model: Llama
    history: History
    config: TrainConfig


Callback = Callable[[StepInfo], None]


def train(
    model: Llama,
    train_data: TokenDataset,
    val_data: TokenDataset | None,
    config: TrainConfig,
    callbacks: Iterable[Callback] = (),
    checkpoint: str | Path | None = None,
    tokenizer=None,
    resume: bool = False,
    progress: bool = True,
    about: dict[str, Any] | None = None,
) -> History:
    """Train ``model`` in place for ``config.steps`` optimizer steps and return the :class:`History`.

    With ``checkpoint`` a folder is written at every evaluation and at the end, with ``tokenizer`` and
    ``about`` (what the run was, for whoever loads it) in it; ``resume=True`` continues from it exactly
    where it stopped. Interrupting (Jupyter's stop button) ends the run cleanly: the model keeps its
    weights and the last checkpoint stays intact.
    Under ``torchrun`` each process trains on its own batches and gradients are averaged (DDP).
    """
    device = model.tok_embeddings.weight.device
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    if checkpoint is not None and rank == 0:  # a folder that cannot be saved to is refused before training
        check_checkpoint_out(checkpoint)
        remove_stale_temps(checkpoint)
    optimizer = make_optimizer(model, config)
    dtype = autocast_dtype(device, config.precision)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    history, start = History(), 0
    if resume and checkpoint is not None and has_checkpoint(checkpoint):
        history, start = _resume(model, optimizer, scaler, checkpoint)
    net = DistributedDataParallel(model) if world > 1 else model
    if config.compile:
        net = torch.compile(net)

    def save(steps_done: int) -> None:
        if checkpoint is not None and rank == 0:
            state = {"step": steps_done, "train_config": dataclasses.asdict(config), "about": about or {},
                     "history": dataclasses.asdict(history), "scaler": scaler.state_dict()}
            save_checkpoint(checkpoint, model, tokenizer, optimizer, state)
        if world > 1:
            dist.barrier()

    began = time.perf_counter() - history.seconds
    bar = progress_bar(total=config.steps, initial=start, disable=not progress or rank > 0, desc="training")
    try:
        for step in range(start, config.steps):
            lr = lr_at(step, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss_sum = torch.zeros((), device=device)
            for micro in range(config.grad_accum):
                x, y = train_data.sample(config.batch_size, seed=[config.seed, step, rank * config.grad_accum + micro])
                last = micro == config.grad_accum - 1
                sync = contextlib.nullcontext() if last or world == 1 else net.no_sync()
                with sync, torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                    _, loss = net(x.to(device), y.to(device))
                    scaler.scale(loss / config.grad_accum).backward()
                loss_sum += loss.detach()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)

            if world > 1:
                dist.all_reduce(loss_sum, op=dist.ReduceOp.AVG)
            loss_value = loss_sum.item() / config.grad_accum
            history.step.append(step + 1)
            history.loss.append(loss_value)
            history.lr.append(lr)
            history.tokens += config.batch_size * config.grad_accum * world * train_data.context
            val_loss = None
            due = step + 1 == config.steps or config.eval_every and (step + 1) % config.eval_every == 0
            if due and val_data is not None:
                val_loss = evaluate(model, val_data, config.batch_size, config.eval_windows, dtype)
                history.val_step.append(step + 1)
                history.val_loss.append(val_loss)
            history.seconds = time.perf_counter() - began
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{lr:.2e}",
                            **({"val": f"{history.val_loss[-1]:.3f}"} if history.val_loss else {}))
            info = StepInfo(step + 1, loss_value, lr, val_loss, model, history, config)
            for callback in callbacks:
                callback(info)
            if due:
                save(step + 1)
    except KeyboardInterrupt:
        history.interrupted = True
        if rank == 0:
            where = f"; the last checkpoint is in {checkpoint}" if checkpoint and has_checkpoint(checkpoint) else ""
            print(f"interrupted after {len(history.step)} steps: the model keeps its weights{where}")
    finally:
        bar.close()
    return history


def _resume(model: Llama, optimizer: torch.optim.Optimizer, scaler, path: str | Path) -> tuple[History, int]:
    """Load weights, optimizer and scaler state and the history from the checkpoint; return (history, step)."""
    saved = load_checkpoint(path, device=model.tok_embeddings.weight.device)
    if saved.model.config != model.config:
        raise ValueError(f"the checkpoint in {path} is for a different model config: {saved.model.config}")
    optimizer_state = saved.optimizer_state()
    if "step" not in saved.state or optimizer_state is None:
        raise ValueError(f"{path} holds weights but no training state to resume from")
    history, step = _saved_progress(saved.state, saved.path / STATE_FILE)
    _check_optimizer_state(optimizer_state, optimizer, saved.path / OPTIMIZER_FILE)
    model.load_state_dict(saved.model.state_dict())
    optimizer.load_state_dict(optimizer_state)
    if saved.state.get("scaler"):
        scaler.load_state_dict(saved.state["scaler"])
    return history, step


def _saved_progress(state: dict[str, Any], file: Path) -> tuple[History, int]:
    """The run's history and step count from its training state, checked (the file may have been edited)."""
    step, saved = state["step"], state.get("history")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CourseError(f"{file}: 'step' should be a whole number >= 0, got {step!r}")
    fields = {f.name for f in dataclasses.fields(History)}
    if not isinstance(saved, dict) or not set(saved) <= fields:
        raise CourseError(f"{file}: 'history' should be an object with some of the fields {sorted(fields)}")
    return History(**saved), step


def _check_optimizer_state(saved: dict[str, Any], optimizer: torch.optim.Optimizer, file: Path) -> None:
    """Refuse optimizer state saved for another model before it is loaded (the error would come mid-step)."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    sizes = [len(group["params"]) for group in optimizer.param_groups]
    if [len(group["params"]) for group in saved["param_groups"]] != sizes:
        raise CourseError(f"{file} was saved for a model with other parameters: it cannot resume this one")
    for index, tensors in saved["state"].items():
        for key, tensor in tensors.items():
            if index >= len(params) or tensor.dim() > 0 and tensor.shape != params[index].shape:
                raise CourseError(f"{file} was saved for a model of another shape ({index}.{key}): "
                                  "it cannot resume this one")
