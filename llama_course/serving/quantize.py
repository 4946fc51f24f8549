"""Weight-only quantization for decoding: int8 per output channel, int4 in groups, each with its scales.

At batch 1 a decoding step reads every weight once and does two FLOPs with it, so its time is the time to
read the weights from memory. Storing them as 8- or 4-bit integers reads about 4 or 6.4 times fewer bytes
(with their scales); the activations stay in floating point ("weight-only", as in GPTQ, Frantar et al. 2023,
without its error correction; LLM.int8(), Dettmers et al. 2022, quantizes the activations too).

Symmetric absmax quantization of a row (or group) ``w`` to ``b`` bits: ``scale = max|w| / (2^(b-1) - 1)``,
``q = round(w / scale)``, and ``w ≈ q * scale``. Each layer computes the same product three ways: eager on the
CPU, int8 through PyTorch's kernel ``torch._weight_int8pack_mm`` and int4 by dequantizing and multiplying;
under ``torch.compile`` as a multiply-and-sum the compiler fuses into one loop over the integers; elsewhere (a
GPU) by dequantizing and multiplying. Fewer bytes are faster only when the kernel reads them fast: on a laptop
CPU at batch 1 only the compiled int8 path keeps up with float (``benchmarks/serving_speed.py``, notebook 08).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..model import Llama

KINDS = ("float", "int8", "int4")


def quantize_int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``w`` (out, in) as int8 in [-127, 127] with one float scale per output row: ``w ≈ q * scale[:, None]``."""
    scale = (w.float().abs().amax(dim=1) / 127).clamp_min(1e-12)
    q = torch.round(w.float() / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q, scale


def quantize_int4(w: torch.Tensor, group_size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """``w`` (out, in) as integers in [-7, 7] (held in int8; -8 is never produced) with one scale per
    ``group_size`` inputs of a row: ``w ≈ q * scale`` group by group, ``scale`` of shape (out, in / group_size).
    A group of 32 weights costs
    32 x 4 bits + one 32-bit scale here: 5 bits per weight (llama.cpp's Q4_0 stores the scale in 16 bits)."""
    out_features, in_features = w.shape
    if in_features % group_size:
        raise ValueError(f"int4 groups of {group_size} need an input width divisible by it, got {in_features}")
    groups = w.float().reshape(out_features, in_features // group_size, group_size)
    scale = (groups.abs().amax(dim=-1) / 7).clamp_min(1e-12)
    q = torch.round(groups / scale[..., None]).clamp(-8, 7).to(torch.int8)
    return q.reshape(out_features, in_features), scale


def dequantize(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The float matrix ``q * scale`` (one scale per row, or per group of ``in / scale.size(1)`` inputs)."""
    groups = q.float().reshape(q.size(0), scale.size(-1) if scale.dim() == 2 else 1, -1)
    return (groups * scale.reshape(q.size(0), -1, 1)).reshape(q.shape)


class Int8Linear(nn.Module):
    """A bias-free linear layer whose weight is int8, one scale per output channel.

    Eager on the CPU it calls PyTorch's kernel ``torch._weight_int8pack_mm``; elsewhere ``(x q^T) * scale``
    (a per-row scale commutes with the product). Under ``torch.compile`` it is written as a multiply-and-sum,
    ``sum_k x_k q_nk``, which the compiler turns into one loop that reads each int8 weight once."""

    q: torch.Tensor
    scale: torch.Tensor

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        q, scale = quantize_int8(weight.detach())
        self.register_buffer("q", q)
        self.register_buffer("scale", scale.to(weight.dtype))
        self.out_features, self.in_features = weight.shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        scale = self.scale.to(flat.dtype)
        if torch.compiler.is_compiling():
            y = (flat[:, None, :] * self.q).sum(-1) * scale
        elif flat.device.type == "cpu":
            y = torch._weight_int8pack_mm(flat, self.q, scale)
        else:
            y = (flat @ self.q.to(flat.dtype).T) * scale
        return y.reshape(*x.shape[:-1], self.out_features)


class Int4Linear(nn.Module):
    """A bias-free linear layer whose weight is int4 in groups of ``group_size`` inputs, each with its scale.

    The integers are stored shifted to [0, 15], two to a byte: input ``2j`` in the low four bits, ``2j+1`` in
    the high four. Eager, the layer unpacks, dequantizes and multiplies (PyTorch's CPU kernel
    ``torch._weight_int4pack_mm_for_cpu`` exists, but measured slower than this at batch 1: see
    ``benchmarks/serving_speed.py``); under ``torch.compile`` a multiply-and-sum over each group, fused into
    one loop that reads half a byte per weight."""

    packed: torch.Tensor
    scale: torch.Tensor

    def __init__(self, weight: torch.Tensor, group_size: int = 32) -> None:
        super().__init__()
        q, scale = quantize_int4(weight.detach(), group_size)
        shifted = (q + 8).to(torch.uint8)
        self.register_buffer("packed", shifted[:, 0::2] | (shifted[:, 1::2] << 4))
        self.register_buffer("scale", scale.to(weight.dtype))
        self.group_size = group_size
        self.out_features, self.in_features = weight.shape

    def unpacked(self) -> torch.Tensor:
        """The integers in [-7, 7] (out, in), back from their nibbles."""
        low, high = (self.packed & 15).to(torch.int8) - 8, (self.packed >> 4).to(torch.int8) - 8
        return torch.stack([low, high], dim=-1).reshape(self.out_features, self.in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        if torch.compiler.is_compiling():
            groups = self.in_features // self.group_size
            even, odd = flat.reshape(-1, 1, groups, self.group_size // 2, 2).unbind(-1)
            packed = self.packed.reshape(self.out_features, groups, self.group_size // 2)
            low, high = (packed & 15).to(flat.dtype) - 8, (packed >> 4).to(flat.dtype) - 8
            y = ((even * low + odd * high).sum(-1) * self.scale.to(flat.dtype)).sum(-1)
        else:
            y = flat @ dequantize(self.unpacked(), self.scale).to(flat.dtype).T
        return y.reshape(*x.shape[:-1], self.out_features)


def quantize_model(model: Llama, kind: str = "int8", group_size: int = 32) -> Llama:
    """A copy of ``model`` whose linear layers (attention, feed-forward and the output head) hold ``kind``
    weights: "float" (a plain copy), "int8" or "int4". The token embeddings stay float: decoding reads only one
    row of them per token. The copy is an ordinary :class:`Llama`: ``generate`` and friends work on it."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(model, Llama):
        raise TypeError(f"quantize_model quantizes a llama_course Llama, got {type(model).__name__}")
    if model.config.tie_embeddings and kind != "float":
        raise ValueError("a model with tied embeddings shares its output matrix with the embeddings: not quantized")
    out = copy.deepcopy(model)
    if kind == "float":
        return out
    for module in list(out.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.Linear):
                weight = child.weight.detach()
                new = Int8Linear(weight) if kind == "int8" else Int4Linear(weight, group_size)
                setattr(module, child_name, new)
    return out


def weight_bytes(model: nn.Module) -> int:
    """Bytes of the weights as a file of the model holds them (its ``state_dict``, a tied matrix once)."""
    unique = {t.data_ptr(): t for t in model.state_dict().values() if t.numel()}
    return sum(t.numel() * t.element_size() for t in unique.values())
