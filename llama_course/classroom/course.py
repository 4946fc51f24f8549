"""Notebook set-up: one call in each notebook's first cell makes runs repeatable and sets the scene."""

from __future__ import annotations

import os
import platform
import random
from dataclasses import dataclass

import numpy as np
import torch

FAST_ENV = "LLAMA_COURSE_FAST"
DEVICE_ENV = "LLAMA_COURSE_DEVICE"


@dataclass(frozen=True)
class Setup:
    """What :func:`setup` chose: the device to use, whether fast mode is on, and the seed."""

    device: torch.device
    fast: bool
    seed: int

    def pick(self, full: int, fast: int) -> int:
        """``full`` normally, ``fast`` in fast mode (training steps, data sizes...)."""
        return fast if self.fast else full


def fast_mode() -> bool:
    """True when ``LLAMA_COURSE_FAST`` is set to 1/true/yes (the test run sets it)."""
    return os.environ.get(FAST_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def default_device() -> torch.device:
    """``LLAMA_COURSE_DEVICE`` if set, else CUDA when present, else Apple MPS, else CPU."""
    wanted = os.environ.get(DEVICE_ENV, "").strip()
    if wanted:
        return checked_device(wanted, f"{DEVICE_ENV}={wanted}", hint="unset it to use the CPU")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def checked_device(name: str, origin: str, hint: str = "") -> torch.device:
    """``torch.device(name)``, refused in one line naming ``origin`` (an option, a variable) when PyTorch does
    not know the name or this machine does not have the device."""
    from ..files import CourseError

    hint = f"; {hint}" if hint else ""
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise CourseError(f"{origin}: expected cpu, cuda, cuda:N or mps{hint}") from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available.get(device.type, False):
        sees = " (PyTorch sees no CUDA GPU)" if device.type == "cuda" else ""
        raise CourseError(f"{origin}: {device.type} is not available on this machine{sees}; available: "
                          f"{', '.join(k for k, v in available.items() if v)}{hint}")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise CourseError(f"{origin}: this machine has {torch.cuda.device_count()} CUDA device(s){hint}")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's random generators (CPU and GPU)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(seed: int = 0, device: str | torch.device | None = None, quiet: bool = False) -> Setup:
    """Seed everything, choose the device, read fast mode, set print and plot defaults.

    Prints one line describing the environment (unless ``quiet``) and returns a :class:`Setup`.
    """
    from .. import __version__

    seed_everything(seed)
    torch.set_printoptions(precision=4, sci_mode=False)
    chosen = torch.device(device) if device is not None else default_device()
    _plot_defaults()
    info = Setup(device=chosen, fast=fast_mode(), seed=seed)
    if not quiet:
        print(
            f"llama-course {__version__} | torch {torch.__version__} | python {platform.python_version()}"
            f" | device {chosen} | fast mode {'on' if info.fast else 'off'} | seed {seed}"
        )
    return info


def _plot_defaults() -> None:
    """PNG figures at a readable size (SVG output never compares equal under nbval), Chinese drawn in a CJK font."""
    import matplotlib as mpl

    from ..viz import font_families

    mpl.rcParams.update({
        "font.family": font_families(),
        "figure.figsize": (7.0, 3.5),
        "figure.dpi": 100,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # plain Python, no notebook
        return
    if get_ipython() is not None:
        set_matplotlib_formats("png")
