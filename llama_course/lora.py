"""LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models"), written from scratch.

A frozen weight ``W`` (out x in) is adapted by a low-rank update: ``W' = W + (alpha / r) B A`` with
``A`` (r x in) random and ``B`` (out x r) zero at the start, so training begins from the unchanged
model and only ``r (in + out)`` numbers per matrix learn.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import cast

import torch
from safetensors import SafetensorError, safe_open
from torch import nn

from .config import is_whole
from .files import CourseError, atomic_write, write_safetensors


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update, which can be merged into the weight."""

    def __init__(self, base: nn.Linear, rank: int = 8, alpha: float = 16.0, dropout: float = 0.0) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRA wraps an nn.Linear, got {type(base).__name__}")
        if not is_whole(rank) or not 1 <= rank <= min(base.in_features,
                                                                                        base.out_features):
            raise ValueError(f"rank must be an int in [1, {min(base.in_features, base.out_features)}], got {rank!r}")
        if not alpha > 0:
            raise ValueError(f"alpha must be > 0, got {alpha!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.base = base
        self.rank, self.alpha, self.scaling = rank, float(alpha), alpha / rank
        base.weight.requires_grad_(False)
        weight = base.weight
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, device=weight.device, dtype=weight.dtype))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, device=weight.device, dtype=weight.dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # nn.Linear's own init; B = 0 makes the update 0
        self.dropout = nn.Dropout(dropout)
        self.merged = False

    def delta_weight(self) -> torch.Tensor:
        """The update ``(alpha / r) B A``, the same shape as the frozen weight."""
        return (self.lora_B @ self.lora_A) * self.scaling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if self.merged:
            return out
        return out + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scaling

    @torch.no_grad()
    def merge(self) -> None:
        """Fold the update into the weight: one matmul per layer again, no extra cost at inference."""
        if not self.merged:
            self.base.weight += self.delta_weight()
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Take the update back out of the weight, to train it further or swap adapters."""
        if self.merged:
            self.base.weight -= self.delta_weight()
            self.merged = False

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha:g}, merged={self.merged}"


def linear_names(model: nn.Module) -> list[str]:
    """Names of the model's linear layers (the candidates for LoRA), e.g. ``layers.0.attention.wq``."""
    return [name for name, m in model.named_modules() if isinstance(m, (nn.Linear, LoRALinear))
            and not name.endswith(".base")]


def apply_lora(model: nn.Module, targets: tuple[str, ...] | list[str] = ("wq", "wv"), rank: int = 8,
               alpha: float = 16.0, dropout: float = 0.0) -> list[str]:
    """Freeze every parameter of ``model`` and wrap the linear layers whose name ends with one of
    ``targets`` (``"wq"``, ``"attention.wo"``, ``"w1"``...) in :class:`LoRALinear`. Returns the wrapped names."""
    if isinstance(targets, str):
        targets = (targets,)
    if lora_layers(model):
        raise ValueError("this model already has LoRA layers: merge_lora(model, unload=True) first")
    chosen = [n for n in linear_names(model) if any(n == t or n.endswith("." + t) for t in targets)]
    if not chosen:
        short = sorted({n.rsplit(".", 1)[-1] for n in linear_names(model)})
        raise ValueError(f"no linear layer matches {list(targets)}; this model's linear layers end with {short}")
    shared = {id(p) for m in model.modules() if not isinstance(m, nn.Linear) for p in m.parameters(recurse=False)}
    tied = [n for n in chosen if id(model.get_submodule(n).weight) in shared]
    if tied:  # merging would change the tied embeddings too
        raise ValueError(f"{tied} share their weight with the token embeddings (tie_embeddings=True): "
                         "adapt other layers")
    # no LoRA layers (refused above): every chosen name is an nn.Linear
    wrappers = {name: LoRALinear(cast(nn.Linear, model.get_submodule(name)), rank, alpha, dropout) for name in chosen}
    for p in model.parameters():
        p.requires_grad_(False)
    for name, wrapper in wrappers.items():
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, wrapper)
    return chosen


def lora_layers(model: nn.Module) -> dict[str, LoRALinear]:
    """The model's LoRA layers by name."""
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALinear)}


def merge_lora(model: nn.Module, unload: bool = False) -> None:
    """Merge every adapter into its weight; with ``unload=True`` also put the plain ``nn.Linear`` back."""
    for name, layer in lora_layers(model).items():
        layer.merge()
        if unload:
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name), child, layer.base)


def unmerge_lora(model: nn.Module) -> None:
    """Undo :func:`merge_lora` (without ``unload``)."""
    for layer in lora_layers(model).values():
        layer.unmerge()


def count_trainable(model: nn.Module) -> tuple[int, int]:
    """(trainable parameters, all parameters); a tied weight counts once."""
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def save_adapters(model: nn.Module, path: str | Path, extra: dict[str, torch.Tensor] | None = None) -> Path:
    """Write only the LoRA matrices (plus ``extra`` tensors, such as a classifier head) to one safetensors
    file, with rank, alpha and targets in its metadata. It is small: the base model is not in it."""
    layers = lora_layers(model)
    if not layers:
        raise ValueError("this model has no LoRA layers to save: apply_lora(model, ...) first")
    tensors = {}
    for name, layer in layers.items():
        tensors[f"{name}.lora_A"] = layer.lora_A.detach().cpu().contiguous()
        tensors[f"{name}.lora_B"] = layer.lora_B.detach().cpu().contiguous()
    tensors.update({k: v.detach().cpu().contiguous() for k, v in (extra or {}).items()})
    first = next(iter(layers.values()))
    meta = {"rank": str(first.rank), "alpha": str(first.alpha), "targets": json.dumps(sorted(layers))}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: write_safetensors(tensors, tmp, metadata=meta))
    return path


def load_adapters(model: nn.Module, path: str | Path) -> dict[str, torch.Tensor]:
    """Wrap ``model``'s layers as the file says and load the LoRA matrices into them. Returns the file's
    other tensors (for example a classifier head). The whole file is checked first, so a damaged file or one
    made for a model of another shape is refused with the model left as it was."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no adapter file at {path}")
    if lora_layers(model):
        raise ValueError("this model already has LoRA layers: load adapters into a model without them")
    meta, tensors = _read_adapter_file(path)
    names, rank, alpha = _check_adapter(model, path, meta, tensors)
    apply_lora(model, tuple(names), rank, alpha)
    with torch.no_grad():
        for name, layer in lora_layers(model).items():
            layer.lora_A.copy_(tensors.pop(f"{name}.lora_A"))
            layer.lora_B.copy_(tensors.pop(f"{name}.lora_B"))
    return tensors


def _read_adapter_file(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """The metadata and the tensors of a safetensors file, in one read."""
    try:
        with safe_open(path, "pt") as f:
            return f.metadata() or {}, {key: f.get_tensor(key) for key in f.keys()}
    except SafetensorError as e:
        raise CourseError(f"{path} is not a readable safetensors file ({e}); it may be cut short or damaged") from None


def _check_adapter(model: nn.Module, path: Path, meta: dict[str, str],
                   tensors: dict[str, torch.Tensor]) -> tuple[list[str], int, float]:
    """(layer names, rank, alpha) from an adapter file, every matrix checked against ``model``'s layers."""
    if not {"rank", "alpha", "targets"} <= meta.keys():
        raise ValueError(f"{path} is not a LoRA adapter file (no rank/alpha/targets in its metadata)")
    try:
        names, rank, alpha = json.loads(meta["targets"]), int(meta["rank"]), float(meta["alpha"])
    except ValueError:
        raise CourseError(f"{path}: its metadata is damaged (rank {meta['rank']!r}, alpha {meta['alpha']!r})") from None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise CourseError(f"{path}: its metadata should list the adapted layers by name")
    linear = set(linear_names(model))
    missing = [n for n in names if n not in linear]
    if missing:
        raise ValueError(f"the adapter in {path} is for layers this model does not have: {missing[:3]}")
    for name in names:
        weight = cast(nn.Linear, model.get_submodule(name)).weight  # load_adapters refused a model with LoRA layers
        a, b = tensors.get(f"{name}.lora_A"), tensors.get(f"{name}.lora_B")
        if a is None or b is None or a.dim() != 2 or b.dim() != 2:
            raise CourseError(f"{path} lacks the two LoRA matrices of {name}")
        if (b.shape[0], a.shape[1]) != tuple(weight.shape):
            raise ValueError(f"the adapter in {path} was made for a model of another shape: {name} is "
                             f"{tuple(weight.shape)} here but {(b.shape[0], a.shape[1])} in the adapter")
        if a.shape[0] != rank or b.shape[1] != rank:
            raise CourseError(f"{path}: the matrices of {name} have rank {a.shape[0]}/{b.shape[1]}, "
                              f"its metadata says {rank}")
        if not (a.is_floating_point() and b.is_floating_point() and a.isfinite().all() and b.isfinite().all()):
            raise CourseError(f"{path}: the matrices of {name} are not finite floating-point numbers")
    return names, rank, alpha
