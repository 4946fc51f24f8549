"""Pictures of generation: the next-token distribution before and after sampling settings, and what a
new token attended to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .labels import label_fonts, token_label, whole_figure, with_fonts


@with_fonts
def next_token_bars(pieces: Sequence[str], plain: Any, shaped: Any, top: int = 20, title: str | None = None,
                    ax: Axes | None = None) -> Figure:
    """The ``top`` most likely next tokens: their plain probabilities (softmax of the logits, grey) against the
    distribution actually sampled from after temperature and filtering (blue). ``pieces`` names every id."""
    plain, shaped = torch.as_tensor(plain).float().flatten(), torch.as_tensor(shaped).float().flatten()
    if plain.shape != shaped.shape or len(pieces) != plain.numel():
        raise ValueError(f"need one piece and two probabilities per token, got {len(pieces)} pieces and "
                         f"{plain.numel()} / {shaped.numel()} probabilities")
    order = torch.argsort(torch.maximum(plain, shaped), descending=True)[:top].tolist()
    if ax is None:
        fig = Figure(figsize=(7.5, 3.2), layout="constrained")
        ax = fig.add_subplot()
    x = np.arange(len(order))
    ax.bar(x - 0.2, plain[order].numpy(), width=0.4, color="0.7", label="softmax(logits)")
    ax.bar(x + 0.2, shaped[order].numpy(), width=0.4, color="tab:blue", label="sampled from")
    ax.set_xticks(x, [token_label(pieces[i]) for i in order], rotation=60, ha="right", fontsize=8,
                  fontfamily=list(label_fonts()[0]))
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    kept = int((shaped > 0).sum())
    ax.set_title(title or f"next token: {kept} of {shaped.numel()} tokens can be drawn", fontsize=9)
    ax.legend(fontsize=8)
    return whole_figure(ax)


@with_fonts
def generation_attention_bars(tokens: Sequence[str], weights: Any, n_prompt: int, title: str | None = None) -> Figure:
    """What the position before a new token attended to: one bar per earlier token (prompt in grey, generated
    text in blue). ``weights`` is that position's attention row over ``tokens``."""
    weights = torch.as_tensor(weights).float().flatten()
    if weights.numel() != len(tokens):
        raise ValueError(f"need one weight per token, got {weights.numel()} weights for {len(tokens)} tokens")
    fig = Figure(figsize=(min(12.0, 2.5 + 0.22 * len(tokens)), 3.2), layout="constrained")
    ax = fig.add_subplot()
    colors = ["0.6" if i < n_prompt else "tab:blue" for i in range(len(tokens))]
    ax.bar(np.arange(len(tokens)), weights.numpy(), color=colors)
    ax.set_xticks(np.arange(len(tokens)), [token_label(t) for t in tokens], rotation=75, ha="right",
                  fontsize=7 if len(tokens) <= 40 else 5, fontfamily=list(label_fonts()[0]))
    ax.set_ylabel("attention weight")
    ax.set_ylim(0, max(0.05, float(weights.max()) * 1.1))
    ax.set_title(title or "attention of the newest position (prompt grey, generated blue)", fontsize=9)
    return fig

