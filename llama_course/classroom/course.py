"""Notebook set-up: one call in each notebook's first cell makes runs repeatable and sets the scene."""

from __future__ import annotations

import platform
from dataclasses import dataclass

import torch

from ..runtime import DEVICE_ENV, FAST_ENV, default_device, fast_mode, seed_everything

__all__ = ["DEVICE_ENV", "FAST_ENV", "Setup", "default_device", "fast_mode", "seed_everything", "setup"]


@dataclass(frozen=True)
class Setup:
    """What :func:`setup` chose: the device to use, whether fast mode is on, and the seed."""

    device: torch.device
    fast: bool
    seed: int

    def pick(self, full: int, fast: int) -> int:
        """``full`` normally, ``fast`` in fast mode (training steps, data sizes...)."""
        return fast if self.fast else full


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
