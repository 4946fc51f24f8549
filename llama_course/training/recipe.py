"""LLaMA's training recipe: the hyper-parameters of a run, the learning-rate schedule and the optimizer.

AdamW (beta1 0.9, beta2 0.95, weight decay 0.1), linear warmup then cosine decay to 10% of the peak
learning rate, gradient clipping at 1.0 (Touvron et al. 2023, section 2.3). Decay on the weight matrices
only, not on the norm gains, is the common convention (nanoGPT, Hugging Face) rather than something the
LLaMA paper states.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch


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
