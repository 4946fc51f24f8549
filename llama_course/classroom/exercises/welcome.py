"""Checks for notebook 00 (welcome)."""

from __future__ import annotations

from collections.abc import Callable

from .base import ExerciseError, call


def check_weight_memory(fn: Callable[[int, str], float]) -> None:
    """``fn(n_params, dtype_name)`` must give the weights' size in GB (10^9 bytes), and raise
    ``ValueError`` for a dtype name it does not know."""
    sizes = {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1, "int4": 0.5}
    for n_params in (6_738_415_616, 70_553_706_496, 1_787_008):
        for dtype, nbytes in sizes.items():
            got = call("weight_memory_gb", fn, n_params, dtype)
            expected = n_params * nbytes / 1e9
            if not isinstance(got, (int, float)) or abs(got - expected) > 1e-9 * max(1.0, expected):
                raise ExerciseError(f"weight_memory_gb({n_params:,}, {dtype!r}) gave {got!r}; expected {expected:.6g}")
    try:
        got = fn(1000, "float8")
    except ValueError:
        pass
    else:
        raise ExerciseError(
            f"weight_memory_gb(1000, 'float8') gave {got!r}; expected a ValueError for an unknown dtype"
        )
    print(f"✓ weight_memory_gb is right for {len(sizes)} dtypes and 3 model sizes, and rejects unknown dtypes")

