"""The machinery every check shares: calling the learner's function, comparing tensors, and the error that
shows in a notebook as one red line."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from typing import Any

import torch

from ...attention import KVCache


class ExerciseError(AssertionError):
    """The learner's answer differs from the reference (or is not written yet); the message says how.

    In a notebook it shows as that message alone, in red, without the frames of this library; when the
    learner's own code raised, the traceback of their code follows. Like any error it stops "Run All" there.
    """

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of the usual traceback (the hook IPython offers exceptions for this)."""
        lines = [f"\x1b[1;31m✗ {self}\x1b[0m"]
        cause = self.__cause__
        if cause is not None:
            below = cause.__traceback__.tb_next if cause.__traceback__ else None  # from the learner's function on
            lines += ["", *"".join(traceback.format_exception(type(cause), cause, below)).rstrip().splitlines()]
        return lines


def call(name: str, fn: Callable[..., Any], *args: Any) -> Any:
    if not callable(fn):
        raise ExerciseError(f"{name}: expected a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except NotImplementedError:
        raise ExerciseError(f"{name} is not written yet: replace `raise NotImplementedError` with your code, "
                            "run that cell, then this one") from None
    except Exception as e:  # a shape bug inside the learner's code: say where, keep the cause attached
        raise ExerciseError(f"{name}({describe(args)}) raised {type(e).__name__}: {e}") from e


def describe(args: tuple[Any, ...]) -> str:
    """The arguments of a call as one short line: tensors by their shape, a model as "model", dicts and long lists by
    their size."""
    return ", ".join(_brief(a) for a in args)


def _brief(arg: Any) -> str:
    if isinstance(arg, torch.Tensor):
        return f"tensor{tuple(arg.shape)}"
    if isinstance(arg, torch.nn.Module):  # its repr lists every layer: pages, not a headline
        return "model"
    if isinstance(arg, KVCache):  # where it stands, not its address
        return f"KVCache(pos={arg.pos})"
    if isinstance(arg, dict):
        return f"dict of {len(arg)} entries"
    text = repr(arg)
    if isinstance(arg, list | tuple) and len(text) > 60:  # a short list reads best as itself
        kinds = {type(item).__name__ for item in arg}
        return f"{type(arg).__name__} of {len(arg)} {kinds.pop() + 's' if len(kinds) == 1 else 'items'}"
    return text


def compare(name: str, got: Any, expected: torch.Tensor, args: tuple[Any, ...] = (), atol: float = 1e-5) -> None:
    """Raise :class:`ExerciseError` unless ``got`` is a tensor equal to ``expected`` (to ``atol``)."""
    where = f"{name}({describe(args)})"
    if not isinstance(got, torch.Tensor):
        raise ExerciseError(f"{where} should return a torch.Tensor, got {type(got).__name__}")
    if got.shape != expected.shape:
        raise ExerciseError(f"{where} returned shape {tuple(got.shape)}; expected {tuple(expected.shape)}")
    if not got.dtype.is_floating_point:
        raise ExerciseError(f"{where} returned dtype {got.dtype}; expected a floating-point tensor")
    bad = ~torch.isclose(got.double(), expected.double(), atol=atol, rtol=1e-4)
    if bad.any():
        index = tuple(int(i) for i in bad.nonzero()[0])
        raise ExerciseError(
            f"{where} differs from the reference at {int(bad.sum())} of {bad.numel()} positions; "
            f"first at index {index}: got {got[index].item():.6g}, expected {expected[index].item():.6g}"
        )


def check_cases(
    name: str, fn: Callable[..., Any], reference: Callable[..., torch.Tensor], cases: Iterable[tuple[Any, ...]]
) -> None:
    n = 0
    for args in cases:
        compare(name, call(name, fn, *args), reference(*args), args)
        n += 1
    print(f"✓ {name} matches the reference on {n} random inputs")


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)

