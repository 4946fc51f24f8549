"""Where and how the code runs: the device (CUDA, Apple MPS or the CPU, or the one asked for), seeds that make a
run repeatable, and fast mode (the test run's small settings)."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from .files import CourseError

FAST_ENV = "LLAMA_COURSE_FAST"
DEVICE_ENV = "LLAMA_COURSE_DEVICE"


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


def pick_device(name: str | None) -> torch.device:
    """The ``--device`` asked for, checked to exist here; the best available one when none is asked for."""
    return default_device() if name is None else checked_device(name, f"--device {name}")
