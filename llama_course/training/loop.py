"""The training loop: one for pretraining and every kind of fine-tuning, small enough to read in one screen.

Each optimizer step asks a *batch loss* for ``grad_accum`` fresh micro-batches: pretraining's draws random
windows of the token stream (:func:`next_token_loss`), fine-tuning's draws labelled examples
(:func:`example_loss`). Around it: the recipe of :mod:`.recipe`, mixed precision where the device supports
it, periodic validation, checkpoints that resume exactly, multi-process data parallelism under ``torchrun``,
and a clean stop when interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..config import is_whole
from ..data.batches import TokenDataset
from ..files import CourseError, remove_stale_temps
from ..model import module_device
from ..progress import progress_bar
from .checkpoint import (
    OPTIMIZER_FILE,
    STATE_FILE,
    check_checkpoint_out,
    has_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from .recipe import TrainConfig, autocast_dtype, lr_at, make_optimizer

BatchLoss = Callable[[nn.Module, int, int], tuple[torch.Tensor, int]]
"""``batch_loss(net, step, micro)``: the mean loss of a fresh micro-batch through ``net``, and its token count."""


def next_token_loss(data: TokenDataset, config: TrainConfig) -> BatchLoss:
    """Pretraining's batches: random windows of the token stream, seeded by (seed, step, micro-batch, process),
    so a resumed or repeated run sees exactly the same batches."""
    rank = dist.get_rank() if dist.is_initialized() else 0

    def batch_loss(net: nn.Module, step: int, micro: int) -> tuple[torch.Tensor, int]:
        x, y = data.sample(config.batch_size, seed=[config.seed, step, rank * config.grad_accum + micro])
        device = module_device(net)
        return net(x.to(device), y.to(device))[1], y.numel()

    return batch_loss


def example_loss(n_examples: int, config: TrainConfig,
                 loss_of: Callable[[nn.Module, list[int]], tuple[torch.Tensor, int]]) -> BatchLoss:
    """Fine-tuning's batches: ``config.batch_size`` example indices drawn with replacement from a generator
    seeded by ``config.seed``; ``loss_of(net, rows)`` turns them into a loss. Under ``torchrun`` every process
    draws the same global batch and keeps its own share of it."""
    if n_examples < 1:
        raise ValueError("no training examples")
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    rng = random.Random(config.seed)

    def batch_loss(net: nn.Module, step: int, micro: int) -> tuple[torch.Tensor, int]:
        rows = [rng.randrange(n_examples) for _ in range(config.batch_size * world)]
        return loss_of(net, rows[rank * config.batch_size:(rank + 1) * config.batch_size])

    return batch_loss


@torch.no_grad()
def evaluate(
    model: nn.Module, data: TokenDataset, batch_size: int = 16, max_windows: int | None = None,
    dtype: torch.dtype | None = None,
) -> float:
    """Mean cross-entropy (nats per token) of predicting every next token of the fixed validation windows."""
    device = module_device(model)
    total, count = 0.0, 0
    for x, y in data.batches(batch_size, max_windows):
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            _, loss = model(x.to(device), y.to(device))
        total, count = total + loss.item() * y.numel(), count + y.numel()
    return total / count


@dataclass
class History:
    """What happened during a run: per-step loss and learning rate, validation losses, tokens and time, and what
    was trained and held in memory."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    tokens: int = 0  # training tokens seen, all processes together
    seconds: float = 0.0
    interrupted: bool = False
    trainable: int = 0  # parameters the optimizer updates
    total: int = 0  # parameters in the model
    memory: dict[str, int] = field(default_factory=dict)  # bytes: weights, gradients, optimizer state

    @property
    def val_perplexity(self) -> float:
        """exp(last validation loss): the effective number of tokens the model hesitates between."""
        return math.exp(self.val_loss[-1]) if self.val_loss else float("nan")

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / max(self.seconds, 1e-9)


@dataclass
class StepInfo:
    """What a callback sees after each optimizer step."""

    step: int  # steps done so far
    loss: float
    lr: float
    val_loss: float | None  # set on evaluation steps
    model: nn.Module
    history: History
    config: TrainConfig


Callback = Callable[[StepInfo], None]


def training_memory(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, int]:
    """Bytes held by the weights, the gradients and the optimizer's state, measured from the tensors themselves."""
    params = list(model.parameters())
    state = [v for s in optimizer.state.values() for v in s.values() if torch.is_tensor(v) and v.dim() > 0]
    return {"weights": sum(p.numel() * p.element_size() for p in params),
            "gradients": sum(p.grad.numel() * p.grad.element_size() for p in params if p.grad is not None),
            "optimizer": sum(v.numel() * v.element_size() for v in state)}


def train(
    model: nn.Module,
    data: TokenDataset | BatchLoss,
    val_data: TokenDataset | None,
    config: TrainConfig,
    callbacks: Iterable[Callback] = (),
    checkpoint: str | Path | None = None,
    tokenizer=None,
    resume: bool = False,
    progress: bool = True,
    about: dict[str, Any] | None = None,
    desc: str = "training",
) -> History:
    """Train ``model``'s trainable parameters in place for ``config.steps`` optimizer steps; return the History.

    ``data`` is a token stream to pretrain on, or a :data:`BatchLoss` (fine-tuning). With ``checkpoint`` a
    folder is written at every evaluation and at the end, with ``tokenizer`` and ``about`` (what the run was,
    for whoever loads it) in it; ``resume=True`` continues from it exactly where it stopped. Interrupting
    (Jupyter's stop button) ends the run cleanly: the model keeps its weights and the last checkpoint stays
    intact. Under ``torchrun`` each process trains on its own batches and gradients are averaged (DDP).
    """
    batch_loss = next_token_loss(data, config) if isinstance(data, TokenDataset) else data
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    device = module_device(model)
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
    history.trainable, history.total = sum(p.numel() for p in params), sum(p.numel() for p in model.parameters())
    ddp = DistributedDataParallel(model) if world > 1 else None
    net = model if ddp is None else ddp
    if config.compile:  # a compiled Module is an OptimizedModule (an nn.Module); torch.compile is typed as callable
        net = cast(nn.Module, torch.compile(net))

    def save(steps_done: int) -> None:
        if checkpoint is not None and rank == 0:
            state = {"step": steps_done, "train_config": dataclasses.asdict(config), "about": about or {},
                     "history": dataclasses.asdict(history), "scaler": scaler.state_dict()}
            save_checkpoint(checkpoint, model, tokenizer, optimizer, state)
        if world > 1:
            dist.barrier()

    began = time.perf_counter() - history.seconds
    bar = progress_bar(total=config.steps, initial=start, disable=not progress or rank > 0, desc=desc)
    model.train()
    try:
        for step in range(start, config.steps):
            lr = lr_at(step, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss_sum, tokens = torch.zeros((), device=device), 0
            for micro in range(config.grad_accum):
                last = micro == config.grad_accum - 1
                sync = contextlib.nullcontext() if last or ddp is None else ddp.no_sync()
                with sync, torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                    loss, n_tokens = batch_loss(net, step, micro)
                    scaler.scale(loss / config.grad_accum).backward()
                loss_sum, tokens = loss_sum + loss.detach(), tokens + n_tokens
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            if not history.memory:
                history.memory = training_memory(model, optimizer)
            optimizer.zero_grad(set_to_none=True)

            if world > 1:
                dist.all_reduce(loss_sum, op=dist.ReduceOp.AVG)
            loss_value = loss_sum.item() / config.grad_accum
            history.step.append(step + 1)
            history.loss.append(loss_value)
            history.lr.append(lr)
            history.tokens += tokens * world
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
        model.eval()
    return history


def _resume(model: nn.Module, optimizer: torch.optim.Optimizer, scaler, path: str | Path) -> tuple[History, int]:
    """Load weights, optimizer and scaler state and the history from the checkpoint; return (history, step)."""
    saved = load_checkpoint(path, device=module_device(model))
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
    if not is_whole(step) or step < 0:
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
