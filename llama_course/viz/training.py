"""Pictures of training runs and their results: loss curves, a classifier's confusion, which answer tokens an
instruction-tuned model learns from."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .labels import text_widths, token_label, whole_figure, with_fonts


def running_mean(values: Sequence[float], window: int) -> np.ndarray:
    """Mean of each value and the ``window - 1`` before it (fewer at the start)."""
    array = np.asarray(values, dtype=float)
    sums = np.cumsum(np.insert(array, 0, 0.0))
    lows = np.maximum(np.arange(1, len(array) + 1) - window, 0)
    return (sums[1:] - sums[lows]) / (np.arange(1, len(array) + 1) - lows)


@with_fonts
def loss_curves(history: Any, ax: Axes | None = None, total_steps: int | None = None, title: str | None = None,
                vocab_size: int | None = None) -> Figure:
    """Training loss per step (light), its running mean, and validation loss (dots) of a
    :class:`~llama_course.training.loop.History`; with ``vocab_size`` a dashed line marks a uniform guess, ln V."""
    if ax is None:
        ax = Figure(figsize=(7, 3.2)).add_subplot()
    steps, losses = history.step, history.loss
    if steps:
        ax.plot(steps, losses, color="tab:blue", alpha=0.25, lw=0.8)
        ax.plot(steps, running_mean(losses, max(1, len(losses) // 40)), color="tab:blue", label="training loss")
    if history.val_step:
        ax.plot(history.val_step, history.val_loss, "o-", color="tab:orange", ms=4, label="validation loss")
        ax.annotate(f"{history.val_loss[-1]:.3f}", (history.val_step[-1], history.val_loss[-1]),
                    textcoords="offset points", xytext=(4, 6), fontsize=8, color="tab:orange")
    if vocab_size:
        ax.axhline(math.log(vocab_size), ls="--", color="gray", lw=0.8, label=f"uniform guess, ln {vocab_size}")
    if total_steps:
        ax.set_xlim(0, total_steps)
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_ylim(bottom=0)
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    return whole_figure(ax)


@with_fonts
def confusion_matrix(confusion: Any, labels: Sequence[str], title: str | None = None, ax: Axes | None = None) -> Figure:
    """Counts of (true label, predicted label), with each row's share as the colour: the diagonal is right."""
    counts = torch.as_tensor(confusion).float()
    if counts.dim() != 2 or counts.shape != (len(labels), len(labels)):
        raise ValueError(f"need a {len(labels)}x{len(labels)} matrix for labels {list(labels)}, "
                         f"got shape {tuple(counts.shape)}")
    if ax is None:
        fig = Figure(figsize=(0.9 + 0.7 * len(labels), 0.7 + 0.6 * len(labels)), layout="constrained")
        ax = fig.add_subplot()
    share = counts / counts.sum(1, keepdim=True).clamp(min=1)
    ax.imshow(share.numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.grid(False)
    for (i, j), n in np.ndenumerate(counts.int().numpy()):
        ax.text(j, i, str(n), ha="center", va="center", fontsize=9, color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = float(counts.diag().sum() / counts.sum().clamp(min=1))
    ax.set_title(title or f"accuracy {accuracy:.1%}", fontsize=9)
    return whole_figure(ax)


@with_fonts
def answer_mask(pieces: Sequence[str], learned: Sequence[bool], width: int = 24) -> Figure:
    """An example's tokens in reading order, ``width`` tiles to a row: those the loss learns to predict in blue, the
    masked prompt in grey. A token too long for one tile (``<|assistant|>``) gets a wider one."""
    if len(pieces) != len(learned):
        raise ValueError(f"need one flag per token, got {len(pieces)} tokens and {len(learned)} flags")
    tile, size = 0.42, 6.0  # inches per tile, points per label
    labels = [token_label(p) for p in pieces]
    spans = [max(1.0, math.ceil(2 * (text_widths([s], size)[0] + 0.08) / tile) / 2) for s in labels]
    places, r, c = [], 0, 0.0
    for span in spans:
        if c > 0 and c + span > width:
            r, c = r + 1, 0.0
        places.append((r, c))
        c += span
    rows = r + 1 if pieces else 1
    fig = Figure(figsize=(tile * width, 0.36 * rows + 0.4), layout="constrained")
    ax = fig.add_subplot()
    for label, learn, span, (r, c) in zip(labels, learned, spans, places, strict=True):
        ax.add_patch(Rectangle((c, -r - 0.9), span - 0.05, 0.8, color="tab:blue" if learn else "0.85"))
        ax.text(c + (span - 0.05) / 2, -r - 0.5, label, ha="center", va="center", fontsize=size,
                color="white" if learn else "black")
    ax.set_xlim(0, width)
    ax.set_ylim(-rows, 0)
    ax.axis("off")
    ax.set_title(f"{sum(map(bool, learned))} of {len(pieces) - 1} predictions count in the loss (blue tokens): "
                 "the answer and its <|end|>", fontsize=9)
    return fig

