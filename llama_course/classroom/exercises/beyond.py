"""Checks for notebook 08 (beyond the laptop)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ...hf import halves_to_pairs, pairs_to_halves
from .base import ExerciseError, call, compare, generator


def check_rope_permutation(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """``fn(w, n_heads)`` must reorder the rows of a ``wq``/``wk`` matrix, head by head, from our RoPE layout
    (pairs ``(2i, 2i+1)`` rotate together) to Hugging Face's (``(i, i + head_dim/2)`` rotate together)."""
    g = generator(16)
    n = 0
    for n_heads, head_dim, dim in [(1, 4, 3), (2, 8, 16), (4, 16, 64), (2, 6, 5)]:
        w = torch.randn(n_heads * head_dim, dim, generator=g)
        args = (w.clone(), n_heads)
        got = call("permute_for_hf", fn, *args)
        expected = pairs_to_halves(w, n_heads)
        if isinstance(got, torch.Tensor) and got.shape == w.shape and not torch.equal(got, expected):
            where = f"permute_for_hf(tensor{tuple(w.shape)}, n_heads={n_heads})"
            if torch.equal(got, w):
                raise ExerciseError(f"{where} returned the rows unchanged; within each head the even rows "
                                    "(0, 2, 4, ...) come first, then the odd rows (1, 3, 5, ...)")
            if torch.equal(got, halves_to_pairs(w, n_heads)):
                raise ExerciseError(f"{where} applied the inverse permutation (halves -> pairs); we need "
                                    "pairs -> halves: new row j is old row 2j, new row head_dim/2 + j is old row 2j+1")
            if n_heads > 1 and torch.equal(got, pairs_to_halves(w, 1)):
                raise ExerciseError(f"{where} permuted all rows as one head; permute each head's "
                                    f"{head_dim} rows separately")
        compare("permute_for_hf", got, expected, args)
        n += 1
    print(f"✓ permute_for_hf puts the rows in Hugging Face's RoPE order for {n} shapes (1 to 4 heads)")


SHARDING_BYTES = {  # (bytes per parameter held whole on every GPU, bytes per parameter split over the GPUs)
    "none": (16, 0),  # DDP: bf16 weights 2 + bf16 gradients 2 + fp32 master weights, Adam m and v 12
    "optimizer": (4, 12),  # ZeRO stage 1: the optimizer state (fp32 weights, m, v) is sharded
    "gradients": (2, 14),  # ZeRO stage 2 / FSDP SHARD_GRAD_OP: the gradients too
    "full": (0, 16),  # ZeRO stage 3 / FSDP FULL_SHARD: the weights too
}


def training_gpu_hours_reference(n_params: float, n_tokens: float, peak_flops: float, utilisation: float) -> float:
    """GPU-hours to train ``n_params`` parameters on ``n_tokens`` tokens at 6 FLOPs per parameter per token,
    on GPUs running at ``utilisation`` (0 to 1) of ``peak_flops`` (FLOP/s)."""
    return 6 * n_params * n_tokens / (peak_flops * utilisation) / 3600


def check_training_gpu_hours(fn: Callable[[float, float, float, float], float]) -> None:
    """``fn(n_params, n_tokens, peak_flops, utilisation)`` must give the GPU-hours of a training run (6ND)."""
    g = generator(17)

    def log_uniform(low: int, high: int) -> float:
        return 10 ** (low + (high - low) * torch.rand((), generator=g).item())

    cases: list[tuple[float, float, float, float]] = [(6_738_415_616, 2.0e12, 312e12, 0.4),
                                                       (65_285_660_672, 1.4e12, 312e12, 0.5)]
    for _ in range(4):
        utilisation = 0.2 + 0.6 * torch.rand((), generator=g).item()
        cases.append((log_uniform(6, 11), log_uniform(9, 13), log_uniform(12, 15), utilisation))
    hints = {3600: "that is GPU-seconds: divide by 3600 for hours", 1 / 24: "that is GPU-days: multiply by 24",
             1 / 3: "that is the forward pass only (2ND): training costs 6ND"}
    for args in cases:
        got, expected = call("training_gpu_hours", fn, *args), training_gpu_hours_reference(*args)
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            raise ExerciseError(f"training_gpu_hours should return a number, got {type(got).__name__}")
        if abs(got - expected) > 1e-6 * expected:
            n, d, peak, u = args
            ratio = got / expected
            hint = next((h for r, h in hints.items() if abs(ratio - r) < 1e-6 * r), "")
            if not hint and abs(ratio - u) < 1e-6:
                hint = "the GPUs only run at `utilisation` of their peak: divide by peak_flops * utilisation"
            elif not hint and abs(ratio - u * u) < 1e-6:
                hint = "the achieved speed is peak_flops * utilisation; divide by it, do not multiply"
            raise ExerciseError(f"training_gpu_hours(n_params={n:.4g}, n_tokens={d:.4g}, peak_flops={peak:.4g}, "
                                f"utilisation={u:.3g}) = {got:.6g}; expected {expected:.6g}"
                                + (f" ({hint})" if hint else ""))
    print(f"✓ training_gpu_hours is right on {len(cases)} runs, LLaMA-2 7B and LLaMA 65B included")


def training_memory_per_gpu_gb_reference(n_params: int, n_gpus: int, sharding: str) -> float:
    """GB (10^9 bytes) per GPU for the weights, gradients and Adam state of mixed-precision training
    (16 bytes per parameter; Rajbhandari et al. 2020), activations not included."""
    if sharding not in SHARDING_BYTES:
        raise ValueError(f"unknown sharding {sharding!r}; expected one of {list(SHARDING_BYTES)}")
    whole, split = SHARDING_BYTES[sharding]
    return n_params * (whole + split / n_gpus) / 1e9


def check_training_memory_per_gpu(fn: Callable[[int, int, str], float]) -> None:
    """``fn(n_params, n_gpus, sharding)`` must give GB per GPU for weights + gradients + Adam state, and raise
    ``ValueError`` for an unknown ``sharding``."""
    n = 0
    for n_params in (6_738_415_616, 68_976_648_192, 1_787_008):
        for n_gpus in (1, 8, 64):
            for sharding in SHARDING_BYTES:
                got = call("training_memory_per_gpu_gb", fn, n_params, n_gpus, sharding)
                expected = training_memory_per_gpu_gb_reference(n_params, n_gpus, sharding)
                if not isinstance(got, (int, float)) or isinstance(got, bool) or abs(got - expected) > 1e-9 * expected:
                    whole, split = SHARDING_BYTES[sharding]
                    shown = f"{got:.6g}" if isinstance(got, (int, float)) else repr(got)
                    held = (f"all {whole} bytes per parameter" if not split else
                            f"{whole} bytes per parameter whole and 1/{n_gpus} of the other {split}")
                    raise ExerciseError(
                        f"training_memory_per_gpu_gb({n_params:,}, n_gpus={n_gpus}, sharding={sharding!r}) = {shown}; "
                        f"expected {expected:.6g}: with {sharding!r} each GPU holds {held}"
                    )
                n += 1
    try:
        got = fn(1000, 8, "zero4")
    except ValueError:
        pass
    except Exception as e:
        raise ExerciseError(f"training_memory_per_gpu_gb(1000, 8, 'zero4') raised {type(e).__name__}; expected a "
                            "ValueError that names the known shardings (an unknown sharding)") from e
    else:
        raise ExerciseError(f"training_memory_per_gpu_gb(1000, 8, 'zero4') gave {got!r}; "
                            "expected a ValueError for an unknown sharding")
    print(f"✓ training_memory_per_gpu_gb is right in {n} cases (4 shardings, 1 to 64 GPUs) and rejects unknown ones")

