"""Pictures of attention: heatmaps, grids of heads, the attention pipeline step by step, and maps captured
from a model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from ..attention import causal_mask
from ..model import check_token_ids, module_device
from .arguments import as_matrix, check_tokens, checked_index, checked_indices
from .labels import set_token_ticks, text_width, token_label, token_strings, whole_figure, with_fonts

ANNOTATE_MAX = 12  # heatmaps of at most this many tokens print their values in the cells
LABEL_SPACING = 0.08  # inches per token at least, or a map drops its token tick labels rather than overlap them


def _mask_outline(q_len: int, k_len: int) -> list[tuple[float, float]] | None:
    """Corners of the staircase around the cells a causal mask hides (queries are the last ``q_len`` keys)."""
    offset = k_len - q_len
    corners = [(k_len - 0.5, -0.5)]
    for i in range(q_len):
        x = i + offset + 0.5
        if x >= k_len - 0.5:
            break
        corners += [(x, i - 0.5), (x, i + 0.5)]
    corners.append((k_len - 0.5, corners[-1][1]))
    return corners if len(corners) > 2 else None


def draw_matrix(
    ax: Axes,
    data: torch.Tensor,
    *,
    allowed: torch.Tensor | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    annotate: bool = False,
    fmt: str = "{:.2f}",
) -> Any:
    """imshow of ``data`` with the cells outside ``allowed`` hatched grey (and labelled -inf when annotated)."""
    values = data.numpy()
    hidden = np.zeros(values.shape, bool) if allowed is None else ~allowed.numpy()
    shown = np.ma.masked_array(values, hidden | ~np.isfinite(values))
    visible = shown.compressed()
    vmin = (float(visible.min()) if visible.size else 0.0) if vmin is None else vmin
    vmax = (float(visible.max()) if visible.size else 1.0) if vmax is None else vmax
    colors = colormaps[cmap].with_extremes(bad=(0, 0, 0, 0))  # hidden cells see-through, hatched below
    image = ax.imshow(shown, cmap=colors, vmin=vmin, vmax=max(vmax, vmin + 1e-6), interpolation="nearest")
    ax.grid(False)
    if allowed is not None:
        outline = _mask_outline(*allowed.shape)
        if outline is not None:
            ax.add_patch(Polygon(outline, closed=True, facecolor="0.92", edgecolor="0.6", hatch="///", linewidth=0))
    if annotate:
        for (i, j), value in np.ndenumerate(values):
            if hidden[i, j]:
                text, color = "-inf" if np.isneginf(value) else "", "0.35"
            else:
                red, green, blue, _ = image.cmap(image.norm(value))
                text, color = fmt.format(value), "white" if 0.3 * red + 0.6 * green + 0.1 * blue < 0.5 else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color=color)
    return image


def _outline_row(ax: Axes, row: int, k_len: int) -> None:
    ax.add_patch(Rectangle((-0.5, row - 0.5), k_len, 1, fill=False, edgecolor="crimson", linewidth=1.8, zorder=5))


@with_fonts
def attention_heatmap(
    weights: Any,
    tokens: Sequence[str],
    title: str | None = None,
    ax: Axes | None = None,
    show_mask: bool = True,
    annotate: bool | None = None,
    query: int | None = None,
) -> Figure:
    """One head's attention weights (q_len, k_len): keys across, queries down, with a colorbar.

    ``tokens`` name the keys; the queries are the last ``q_len`` of them. ``show_mask`` hatches the cells a
    causal mask hides; values are printed when there are at most 12 tokens (``annotate`` overrides).
    ``query`` outlines that query's row and, in a new figure, plots it as bars beside the map. Draws into
    ``ax`` when given, else into a new figure.
    """
    weights = as_matrix(weights, "weights", 2, " (q_len, k_len); for one head of a batch use weights[0, head]")
    q_len, k_len = weights.shape
    tokens = check_tokens(tokens, k_len, q_len, f"weights of shape {tuple(weights.shape)}")
    query = None if query is None else checked_index(query, q_len, "query")
    bars = None
    if ax is None:
        side = min(6.0, 2.4 + 0.22 * k_len)
        ratios = [1.0] if query is None else [1.0, 0.5 + 0.03 * (k_len - q_len + query)]
        fig = Figure(figsize=(side * sum(ratios) + 1.2, side), layout="constrained")
        ax, *bars = fig.subplots(1, len(ratios), width_ratios=ratios, squeeze=False)[0]
    allowed = causal_mask(q_len, k_len) if show_mask else None
    annotate = k_len <= ANNOTATE_MAX if annotate is None else annotate
    image = draw_matrix(ax, weights, allowed=allowed, vmin=0.0, annotate=annotate)
    if ax.get_position().height * whole_figure(ax).get_figheight() / k_len >= LABEL_SPACING:
        set_token_ticks(ax, tokens, tokens[k_len - q_len :], size=8 if k_len <= 32 else 6)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    if title:
        ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03, label="weight")
    if query is not None:
        _outline_row(ax, query, k_len)
    if bars:
        seen = k_len - q_len + query + 1
        _query_bars(bars[0], weights[None, query, :seen], tokens[:seen], heads=[0])
    return whole_figure(ax)


def _stack_maps(maps: Any) -> torch.Tensor:
    """``Llama.capture_attention()``'s list (one (batch, heads, q, k) per layer; batch 0) or a (layers, heads, q, k)."""
    if isinstance(maps, (list, tuple)):
        if not maps:
            raise ValueError("maps is empty: run the model inside `with model.capture_attention() as maps:` first")
        layers = [as_matrix(m, f"maps[{i}]", 4, " (batch, heads, q_len, k_len)") for i, m in enumerate(maps)]
        if len({m.shape for m in layers}) > 1:
            raise ValueError(f"every layer's map must have the same shape, got {[tuple(m.shape) for m in layers]}")
        return torch.stack([m[0] for m in layers])
    return as_matrix(maps, "maps", 4, " (layers, heads, q_len, k_len), or the list capture_attention() gives")


def _kv_groups(heads: list[int], per_group: int) -> list[list[int]]:
    """Runs of consecutive chosen heads that share a key/value head."""
    groups: list[list[int]] = []
    for h in heads:
        if not groups or h // per_group != groups[-1][0] // per_group:
            groups.append([])
        groups[-1].append(h)
    return groups


@with_fonts
def attention_grid(
    maps: Any,
    tokens: Sequence[str],
    n_kv_heads: int | None = None,
    layers: int | Sequence[int] | None = None,
    heads: int | Sequence[int] | None = None,
    query: int | None = None,
) -> Figure:
    """Attention weights of one input as a grid, layers down and heads across, on one colour scale.

    ``maps`` is the list ``Llama.capture_attention()`` fills (batch 0 is drawn) or a (layers, heads, q, k)
    tensor. With ``n_kv_heads`` < heads (GQA/MQA) the query heads that share a key/value head sit together in
    a framed group labelled "kv g". ``query`` outlines that query's row in every panel and, when one layer is
    shown, plots the rows as bars under the grid.
    """
    weights = _stack_maps(maps)
    n_layers, n_heads, q_len, k_len = weights.shape
    tokens = check_tokens(tokens, k_len, q_len, f"maps of shape {tuple(weights.shape)}")
    layers, heads = checked_indices(layers, n_layers, "layer"), checked_indices(heads, n_heads, "head")
    query = None if query is None else checked_index(query, q_len, "query")
    if n_kv_heads is not None and (not isinstance(n_kv_heads, int) or n_kv_heads <= 0 or n_heads % n_kv_heads):
        raise ValueError(f"n_kv_heads must be a positive divisor of the {n_heads} heads, got {n_kv_heads!r}")
    kv_heads = n_heads if n_kv_heads is None else n_kv_heads
    grouped = kv_heads < n_heads
    per_group = n_heads // kv_heads if grouped else n_heads
    groups = _kv_groups(heads, per_group)
    bars = query is not None and len(layers) == 1

    # Layout by hand, in inches (constrained layout would double the drawing time of a widget's redraw).
    cell = max(0.6, min(1.6 if k_len <= 16 else 2.0, 16 / len(heads)))  # many heads: smaller panels
    gap, group_gap, size = 0.1, 0.35, 7.0 if k_len <= 12 else 6.0
    labels = [token_label(t) for t in tokens] if cell / k_len >= LABEL_SPACING else []
    x_room = (text_width(labels, size) if max(map(len, labels), default=0) > 2 else size / 60) + 0.15
    y_room = text_width(labels[k_len - q_len :], size) + 0.15
    left, top = 0.3 + y_room, 0.3 + 0.25 * grouped
    seen = k_len - q_len + query + 1 if bars and query is not None else 0  # the keys the query can see
    bar_height = 1.6 + 0.45 + text_width([token_label(t) for t in tokens[:seen]], 8.0) if bars else 0.0
    bottom = 0.1 + x_room + bar_height
    width = left + len(heads) * cell + (len(heads) - len(groups)) * gap + (len(groups) - 1) * group_gap + 0.9
    height = bottom + len(layers) * (cell + gap) + top
    fig = Figure(figsize=(width, height))

    def place(x: float, y: float, w: float, h: float) -> Axes:
        return fig.add_axes((x / width, y / height, w / width, h / height))

    vmax = float(weights[layers][:, heads].max())
    x = left
    for g, group in enumerate(groups):
        kv = group[0] // per_group
        if grouped:
            span = len(group) * cell + (len(group) - 1) * gap
            fig.add_artist(Rectangle((x - 0.06, bottom - x_room + 0.05), span + 0.12, height - bottom + x_room - 0.1,
                                     transform=fig.dpi_scale_trans, fill=False, edgecolor=f"C{kv}", linewidth=2))
            fig.text(x + span / 2, height - 0.22, f"kv {kv}", transform=fig.dpi_scale_trans, ha="center",
                     fontsize=9, color=f"C{kv}")
        for c, head in enumerate(group):
            for r, layer in enumerate(layers):
                ax = place(x, height - top - (r + 1) * cell - r * gap, cell, cell)
                image = draw_matrix(ax, weights[layer, head], allowed=causal_mask(q_len, k_len), vmin=0.0, vmax=vmax)
                x_tokens = tokens if labels and r == len(layers) - 1 else []
                y_tokens = tokens[k_len - q_len :] if labels and g == 0 and c == 0 else []
                set_token_ticks(ax, x_tokens, y_tokens, size=size)
                if r == 0:
                    ax.set_title(f"head {head}", fontsize=8, pad=3)
                if g == 0 and c == 0:
                    ax.set_ylabel(f"layer {layer}", fontsize=8)
                if query is not None:
                    _outline_row(ax, query, k_len)
            x += cell + (gap if c < len(group) - 1 else group_gap)
    x += gap - group_gap
    colorbar = place(x + 0.15, height - top - len(layers) * cell - (len(layers) - 1) * gap, 0.12,
                     len(layers) * cell + (len(layers) - 1) * gap)
    fig.colorbar(image, cax=colorbar, label="weight")
    if bars:
        ax = place(left, bar_height - 1.6 - 0.2, x - left, 1.6)
        _query_bars(ax, weights[layers[0], heads, query, :seen], tokens[:seen], heads)
        ax.set_ylabel("weight")
    return fig


def _query_bars(ax: Axes, rows: torch.Tensor, keys: list[str], heads: list[int]) -> None:
    """Bars of the weights one query gives each key it can see (``keys``, itself last), one colour per head."""
    positions = np.arange(len(keys))
    width = 0.8 / len(heads)
    for i, (head, row) in enumerate(zip(heads, rows, strict=True)):
        color = colormaps["plasma"](0.85 * i / (len(heads) - 1)) if len(heads) > 1 else "crimson"
        ax.bar(positions + (i - (len(heads) - 1) / 2) * width, row.numpy(), width, color=color, label=f"head {head}")
    set_token_ticks(ax, keys, None, size=8)
    ax.set_xlim(-0.5, len(keys) - 0.5)
    ax.set_ylim(0, 1)
    ax.grid(False, axis="x")
    ax.set_title(f"what \"{token_label(keys[-1])}\" (position {len(keys) - 1}) attends to", fontsize=9)
    if len(heads) > 1:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)


def attention_step_values(q: Any, k: Any, v: Any) -> dict[str, torch.Tensor]:
    """Each step of causal attention for one head: ``scores`` QK^T, ``scaled`` by 1/sqrt(d_k), ``masked``
    (-inf where a query would see the future), softmaxed ``weights`` and the ``output`` weights @ V."""
    hint = "; for one head of (batch, heads, seq, d) tensors take q[0, h]"
    q = as_matrix(q, "q", 2, " (q_len, d_k)" + hint)
    k = as_matrix(k, "k", 2, " (k_len, d_k)" + hint)
    v = as_matrix(v, "v", 2, " (k_len, d_v)" + hint)
    if q.size(1) != k.size(1):
        raise ValueError(f"q and k must have the same width d_k, got q {tuple(q.shape)} and k {tuple(k.shape)}")
    if k.size(0) != v.size(0):
        raise ValueError(f"k and v must have one row per key, got k {tuple(k.shape)} and v {tuple(v.shape)}")
    if q.size(0) > k.size(0):
        raise ValueError(f"expected at most as many queries as keys, got {q.size(0)} queries and {k.size(0)} keys")
    scores = q @ k.T
    scaled = scores / math.sqrt(q.size(1))
    masked = scaled.masked_fill(~causal_mask(q.size(0), k.size(0)), float("-inf"))
    weights = masked.softmax(dim=-1)
    return {"scores": scores, "scaled": scaled, "masked": masked, "weights": weights, "output": weights @ v}


@with_fonts
def attention_steps(q: Any, k: Any, v: Any, tokens: Sequence[str]) -> Figure:
    """The pipeline of one head's attention, a panel per step: QK^T, scaled, masked, softmax, V, the output.

    The numbers are :func:`attention_step_values`; values are printed when there are at most 8 tokens and
    dimensions. Scores use a red-blue scale centred on zero, the weights one from zero up.
    """
    steps = attention_step_values(q, k, v)
    q_len, k_len = steps["scores"].shape
    tokens = check_tokens(tokens, k_len, q_len, f"scores of shape {(q_len, k_len)}")
    queries, d_k, d_v = tokens[k_len - q_len :], as_matrix(q, "q", 2).size(1), steps["output"].size(1)
    mask = causal_mask(q_len, k_len)
    panels = [  # title, values, the cells to hatch, row labels, column labels (None: dimensions)
        ("1. scores  Q Kᵀ", steps["scores"], None, queries, tokens),
        (f"2. scaled  ÷ √d_k = ÷ {math.sqrt(d_k):.2f}", steps["scaled"], None, queries, tokens),
        ("3. causal mask: future → −∞", steps["masked"], mask, queries, tokens),
        ("4. softmax: weights (rows sum to 1)", steps["weights"], mask, queries, tokens),
        ("5. values  V", as_matrix(v, "v", 2), None, tokens, None),
        ("6. output = weights @ V", steps["output"], None, queries, None),
    ]
    fig = Figure(figsize=(12.0, 7.6), layout="constrained")
    for ax, (title, data, allowed, rows, columns) in zip(fig.subplots(2, 3).flat, panels, strict=True):
        if data is steps["weights"]:
            limits: dict[str, Any] = {"cmap": "viridis", "vmin": 0.0}
        else:
            largest = float(data[torch.isfinite(data)].abs().max()) or 1.0
            limits = {"cmap": "RdBu_r", "vmin": -largest, "vmax": largest}
        image = draw_matrix(ax, data, allowed=allowed, annotate=max(k_len, d_v) <= 8, **limits)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        ax.set_title(title, fontsize=10)
        set_token_ticks(ax, columns, rows, size=8)
        if columns is None:
            ax.set_xlabel("dimension")
    return fig


def attention_maps(
    model: Any, tokenizer: Any, text: str, layer: int | None = None, head: int | None = None
) -> tuple[list[str], torch.Tensor]:
    """Encode ``text`` (with ``<s>``), run ``model`` once and return its tokens and attention weights.

    The weights are a CPU tensor (layers, heads, n, n), or the slice of the chosen ``layer`` and/or ``head``.
    """
    if not hasattr(model, "capture_attention") or not hasattr(model, "config"):
        raise TypeError(f"model must be a llama_course Llama, got {type(model).__name__}")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    config = model.config
    ids = tokenizer.encode(text, bos=True)
    if len(ids) > config.max_seq_len:
        raise ValueError(
            f"the text is {len(ids)} tokens long (with <s>) but the model reads at most {config.max_seq_len}: "
            "shorten it"
        )
    check_token_ids(torch.tensor(ids), config.vocab_size, f" (the model's vocabulary): use the tokenizer the model "
                    f"was trained with (this one has {len(tokenizer)} tokens)")
    layer = None if layer is None else checked_index(layer, config.n_layers, "layer")
    head = None if head is None else checked_index(head, config.n_heads, "head")
    device = module_device(model)
    with torch.no_grad(), model.capture_attention() as maps:
        model(torch.tensor([ids], device=device))
    weights = torch.stack([m[0] for m in maps]).float().cpu()
    if head is not None:
        weights = weights[:, head]
    if layer is not None:
        weights = weights[layer]
    return token_strings(tokenizer, ids), weights

