"""Pictures of attention and RoPE: heatmaps, head grids, the attention pipeline step by step, rotations.

Every function returns a :class:`matplotlib.figure.Figure` that pyplot does not know about, so a notebook shows
it exactly once (as a cell's last value, or with ``display(fig)``). The ``*_values`` helpers return the numbers
a picture draws, so they can be checked.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps, font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.patches import Polygon, Rectangle
from matplotlib.textpath import text_to_path

from .attention import causal_mask
from .rope import apply_rope, precompute_rope, rope_frequencies
from .tokenizer import SPECIAL_PIECES

ANNOTATE_MAX = 12  # heatmaps of at most this many tokens print their values in the cells
LABEL_SPACING = 0.08  # inches per token at least, or a map drops its token tick labels rather than overlap them
# Chinese in figures: Noto Sans CJK SC (SIL Open Font License), the static Regular face that the mpl-font package
# ships (a dependency), read from its folder without importing it (it imports pyplot; its modules set rcParams).
_CJK_FONT_FILES = (
    ("mpl_font", "fonts/noto/NotoSansCJKsc-Regular.otf"),
    ("mplfonts", "fonts/NotoSansCJKsc-Regular.otf"),  # the same font, where that package is installed instead
)
_CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Hiragino Sans GB",
    "Arial Unicode MS",
)
_WHITESPACE = {" ": "␣", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
NO_CJK_FONT_HINT = ("no font for Chinese found: figures write Chinese characters as \\uXXXX "
                    "(pip install mpl-font, then restart the kernel)")


# ---------------------------------------------------------------------------------------------- fonts


def cjk_font_file() -> Path | None:
    """The CJK font file a dependency ships (Noto Sans CJK SC Regular), or None when none is installed."""
    for package, relative in _CJK_FONT_FILES:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            continue
        for folder in (spec.submodule_search_locations or []) if spec else []:
            if (Path(folder) / relative).is_file():
                return Path(folder) / relative
    return None


def register_cjk_font() -> None:
    """Make the packaged CJK font known to matplotlib (once per process; system fonts are not needed)."""
    path = cjk_font_file()
    if path is not None and all(Path(f.fname) != path for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(path))


@functools.cache
def _label_fonts() -> tuple[tuple[str, ...], frozenset[int]]:
    """Font families for text in figures (the default sans font, then a CJK font for the glyphs it lacks:
    matplotlib falls back glyph by glyph along the list) and the characters they cover together."""
    register_cjk_font()
    families, covered = [], set()
    primary = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    installed = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    fallbacks = [(name, installed[name]) for name in _CJK_FONTS if name in installed][:1]
    for name, path in [(FT2Font(primary).family_name, primary), *fallbacks]:
        families.append(name)
        covered.update(FT2Font(path).get_charmap())
    return tuple(families), frozenset(covered)


def font_families() -> list[str]:
    """The font family list every figure of the course uses: Latin in the default font, Chinese in a CJK one."""
    return list(_label_fonts()[0])


def _with_fonts(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Draw with :func:`font_families`, so titles, legends and labels show Chinese too."""

    @functools.wraps(draw)
    def drawn(*args: Any, **kwargs: Any) -> Figure:
        with rc_context({"font.family": font_families()}):
            return draw(*args, **kwargs)

    return drawn


# ---------------------------------------------------------------------------------------------- labels


def printable_token(token: str) -> str:
    """A token as text: whitespace made visible (" " -> "␣", newline -> "\\n") and other control
    characters spelled out (``\\x07``); everything else as it is (for HTML, where the browser has the fonts)."""
    return "".join(_WHITESPACE.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 32 or ord(ch) == 127 else ch)
                   for ch in token)


_hinted = False


def token_label(token: str) -> str:
    """How a token is printed in a figure: :func:`printable_token`, with "$" escaped (no mathtext) and, as a last
    resort, characters no font can draw written as ``\\uXXXX`` instead of empty boxes (with a one-line hint)."""
    global _hinted
    covered = _label_fonts()[1]
    out = []
    for ch in printable_token(token):
        if ch == "$":
            out.append(r"\$")
        elif ord(ch) in covered:
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")
            if not _hinted and len(_label_fonts()[0]) == 1 and ord(ch) >= 0x2E80:
                _hinted = True
                print(NO_CJK_FONT_HINT, file=sys.stderr)
    return "".join(out)


def set_token_ticks(ax: Axes, x_tokens: Sequence[str] | None, y_tokens: Sequence[str] | None, size: float) -> None:
    """Label the x and y ticks of ``ax`` with tokens, printed by :func:`token_label` ([]: no ticks, None: leave
    that axis alone)."""
    family = list(_label_fonts()[0])
    if x_tokens is not None:
        labels = [token_label(t) for t in x_tokens]
        rotation = 90 if max(map(len, labels), default=0) > 2 else 0
        ax.set_xticks(range(len(labels)), labels, rotation=rotation, fontsize=size, fontfamily=family)
    if y_tokens is not None:
        ax.set_yticks(range(len(y_tokens)), [token_label(t) for t in y_tokens], fontsize=size, fontfamily=family)


# ------------------------------------------------------------------------------------------ validation


def _matrix(x: Any, name: str, rank: int, hint: str = "") -> torch.Tensor:
    """``x`` as a float CPU tensor of the given rank, or a ValueError saying what was expected."""
    t = torch.as_tensor(x.detach() if isinstance(x, torch.Tensor) else np.asarray(x)).float().cpu()
    if t.dim() != rank:
        raise ValueError(f"{name} must be a {rank}-D tensor, got shape {tuple(t.shape)}{hint}")
    return t


def _check_tokens(tokens: Sequence[str], k_len: int, q_len: int, what: str) -> list[str]:
    if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
        raise TypeError("tokens must be a list of strings, one per position")
    tokens = list(tokens)
    if len(tokens) != k_len:
        raise ValueError(f"got {len(tokens)} tokens for {what} with {k_len} keys: expected {k_len} tokens")
    if q_len > k_len:
        raise ValueError(f"{what} has more queries ({q_len}) than keys ({k_len}): expected q_len <= k_len")
    return tokens


def _index(i: Any, count: int, what: str) -> int:
    """``i`` as an int in ``range(count)``, or a ValueError saying which range was expected."""
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < count:
        raise ValueError(f"{what} index {i!r} is out of range: expected 0 <= {what} < {count}")
    return int(i)


def _indices(chosen: int | Sequence[int] | None, count: int, what: str) -> list[int]:
    """All of ``range(count)`` for None, else the chosen index or indices, each checked to be in range."""
    if chosen is None:
        return list(range(count))
    chosen = [chosen] if isinstance(chosen, (int, np.integer)) else list(chosen)
    if not chosen:
        raise ValueError(f"choose at least one {what}")
    return [_index(i, count, what) for i in chosen]


# ---------------------------------------------------------------------------------------------- heatmaps


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


def _draw_matrix(
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


@_with_fonts
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
    weights = _matrix(weights, "weights", 2, " (q_len, k_len); for one head of a batch use weights[0, head]")
    q_len, k_len = weights.shape
    tokens = _check_tokens(tokens, k_len, q_len, f"weights of shape {tuple(weights.shape)}")
    query = None if query is None else _index(query, q_len, "query")
    bars = None
    if ax is None:
        side = min(6.0, 2.4 + 0.22 * k_len)
        ratios = [1.0] if query is None else [1.0, 0.5 + 0.03 * (k_len - q_len + query)]
        fig = Figure(figsize=(side * sum(ratios) + 1.2, side), layout="constrained")
        ax, *bars = fig.subplots(1, len(ratios), width_ratios=ratios, squeeze=False)[0]
    allowed = causal_mask(q_len, k_len) if show_mask else None
    annotate = k_len <= ANNOTATE_MAX if annotate is None else annotate
    image = _draw_matrix(ax, weights, allowed=allowed, vmin=0.0, annotate=annotate)
    if ax.get_position().height * ax.get_figure().get_figheight() / k_len >= LABEL_SPACING:
        set_token_ticks(ax, tokens, tokens[k_len - q_len :], size=8 if k_len <= 32 else 6)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    if title:
        ax.set_title(title)
    ax.get_figure().colorbar(image, ax=ax, fraction=0.046, pad=0.03, label="weight")
    if query is not None:
        _outline_row(ax, query, k_len)
    if bars:
        seen = k_len - q_len + query + 1
        _query_bars(bars[0], weights[None, query, :seen], tokens[:seen], heads=[0])
    return ax.figure if isinstance(ax.figure, Figure) else ax.figure.figure  # an ax in a subfigure: the whole figure


def _stack_maps(maps: Any) -> torch.Tensor:
    """``Llama.capture_attention()``'s list (one (batch, heads, q, k) per layer; batch 0) or a (layers, heads, q, k)."""
    if isinstance(maps, (list, tuple)):
        if not maps:
            raise ValueError("maps is empty: run the model inside `with model.capture_attention() as maps:` first")
        layers = [_matrix(m, f"maps[{i}]", 4, " (batch, heads, q_len, k_len)") for i, m in enumerate(maps)]
        if len({m.shape for m in layers}) > 1:
            raise ValueError(f"every layer's map must have the same shape, got {[tuple(m.shape) for m in layers]}")
        return torch.stack([m[0] for m in layers])
    return _matrix(maps, "maps", 4, " (layers, heads, q_len, k_len), or the list capture_attention() gives")


def _text_widths(labels: Sequence[str], size: float) -> list[float]:
    """Width in inches of each label, as text of this font size."""
    font = font_manager.FontProperties(family=font_families(), size=size)
    return [text_to_path.get_text_width_height_descent(s, font, ismath=False)[0] / 72 for s in labels]


def _text_width(labels: Sequence[str], size: float) -> float:
    """Width in inches of the widest label, as a tick label of this font size."""
    return max(_text_widths(labels, size), default=0)


def _kv_groups(heads: list[int], per_group: int) -> list[list[int]]:
    """Runs of consecutive chosen heads that share a key/value head."""
    groups: list[list[int]] = []
    for h in heads:
        if not groups or h // per_group != groups[-1][0] // per_group:
            groups.append([])
        groups[-1].append(h)
    return groups


@_with_fonts
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
    tokens = _check_tokens(tokens, k_len, q_len, f"maps of shape {tuple(weights.shape)}")
    layers, heads = _indices(layers, n_layers, "layer"), _indices(heads, n_heads, "head")
    query = None if query is None else _index(query, q_len, "query")
    if n_kv_heads is not None and (not isinstance(n_kv_heads, int) or n_kv_heads <= 0 or n_heads % n_kv_heads):
        raise ValueError(f"n_kv_heads must be a positive divisor of the {n_heads} heads, got {n_kv_heads!r}")
    grouped = n_kv_heads is not None and n_kv_heads < n_heads
    per_group = n_heads // n_kv_heads if grouped else n_heads
    groups = _kv_groups(heads, per_group)
    bars = query is not None and len(layers) == 1

    # Layout by hand, in inches (constrained layout would double the drawing time of a widget's redraw).
    cell = max(0.6, min(1.6 if k_len <= 16 else 2.0, 16 / len(heads)))  # many heads: smaller panels
    gap, group_gap, size = 0.1, 0.35, 7.0 if k_len <= 12 else 6.0
    labels = [token_label(t) for t in tokens] if cell / k_len >= LABEL_SPACING else []
    x_room = (_text_width(labels, size) if max(map(len, labels), default=0) > 2 else size / 60) + 0.15
    y_room = _text_width(labels[k_len - q_len :], size) + 0.15
    left, top = 0.3 + y_room, 0.3 + 0.25 * grouped
    seen = k_len - q_len + query + 1 if bars else 0  # the keys the query can see
    bar_height = 1.6 + 0.45 + _text_width([token_label(t) for t in tokens[:seen]], 8.0) if bars else 0.0
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
                image = _draw_matrix(ax, weights[layer, head], allowed=causal_mask(q_len, k_len), vmin=0.0, vmax=vmax)
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


# ---------------------------------------------------------------------------------- attention pipeline


def attention_step_values(q: Any, k: Any, v: Any) -> dict[str, torch.Tensor]:
    """Each step of causal attention for one head: ``scores`` QK^T, ``scaled`` by 1/sqrt(d_k), ``masked``
    (-inf where a query would see the future), softmaxed ``weights`` and the ``output`` weights @ V."""
    hint = "; for one head of (batch, heads, seq, d) tensors take q[0, h]"
    q = _matrix(q, "q", 2, " (q_len, d_k)" + hint)
    k = _matrix(k, "k", 2, " (k_len, d_k)" + hint)
    v = _matrix(v, "v", 2, " (k_len, d_v)" + hint)
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


@_with_fonts
def attention_steps(q: Any, k: Any, v: Any, tokens: Sequence[str]) -> Figure:
    """The pipeline of one head's attention, a panel per step: QK^T, scaled, masked, softmax, V, the output.

    The numbers are :func:`attention_step_values`; values are printed when there are at most 8 tokens and
    dimensions. Scores use a red-blue scale centred on zero, the weights one from zero up.
    """
    steps = attention_step_values(q, k, v)
    q_len, k_len = steps["scores"].shape
    tokens = _check_tokens(tokens, k_len, q_len, f"scores of shape {(q_len, k_len)}")
    queries, d_k, d_v = tokens[k_len - q_len :], _matrix(q, "q", 2).size(1), steps["output"].size(1)
    mask = causal_mask(q_len, k_len)
    panels = [  # title, values, the cells to hatch, row labels, column labels (None: dimensions)
        ("1. scores  Q Kᵀ", steps["scores"], None, queries, tokens),
        (f"2. scaled  ÷ √d_k = ÷ {math.sqrt(d_k):.2f}", steps["scaled"], None, queries, tokens),
        ("3. causal mask: future → −∞", steps["masked"], mask, queries, tokens),
        ("4. softmax: weights (rows sum to 1)", steps["weights"], mask, queries, tokens),
        ("5. values  V", _matrix(v, "v", 2), None, tokens, None),
        ("6. output = weights @ V", steps["output"], None, queries, None),
    ]
    fig = Figure(figsize=(12.0, 7.6), layout="constrained")
    for ax, (title, data, allowed, rows, columns) in zip(fig.subplots(2, 3).flat, panels, strict=True):
        if data is steps["weights"]:
            limits = {"cmap": "viridis", "vmin": 0.0}
        else:
            largest = float(data[torch.isfinite(data)].abs().max()) or 1.0
            limits = {"cmap": "RdBu_r", "vmin": -largest, "vmax": largest}
        image = _draw_matrix(ax, data, allowed=allowed, annotate=max(k_len, d_v) <= 8, **limits)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        ax.set_title(title, fontsize=10)
        set_token_ticks(ax, columns, rows, size=8)
        if columns is None:
            ax.set_xlabel("dimension")
    return fig


# ------------------------------------------------------------------------------------------------ RoPE


def _positions(positions: Iterable[int], name: str = "positions") -> list[int]:
    positions = list(positions)
    if not positions or not all(isinstance(p, (int, np.integer)) and p >= 0 for p in positions):
        raise ValueError(f"{name} must be a non-empty list of non-negative integers, got {positions!r}")
    return [int(p) for p in positions]


def rope_pair_points(
    head_dim: int = 8,
    positions: Iterable[int] = range(8),
    pair: int = 0,
    theta: float = 10000.0,
    vector: torch.Tensor | None = None,
) -> torch.Tensor:
    """Where RoPE moves pair ``pair`` of ``vector`` (default: the unit vector along x[2 * pair]) at each
    position, as a (len(positions), 2) tensor."""
    positions = _positions(positions)
    pair = _index(pair, max(head_dim // 2, 1), "pair")
    cos, sin = precompute_rope(head_dim, max(positions) + 1, theta)
    if vector is None:
        vector = torch.zeros(head_dim)
        vector[2 * pair] = 1.0
    elif vector.shape != (head_dim,):
        raise ValueError(f"vector must have shape ({head_dim},), got {tuple(vector.shape)}")
    x = vector.float().expand(len(positions), head_dim)
    return apply_rope(x, cos[positions], sin[positions])[:, 2 * pair : 2 * pair + 2]


def draw_rotations(
    ax: Axes, points: torch.Tensor, positions: Sequence[int], colors: Sequence[Any], name: str = "m"
) -> None:
    """Draw on ``ax`` arrows from the origin to 2-D points (one RoPE pair, unit length) with the unit circle,
    labelled ``{name}={position}``; consecutive arrows that point the same way share one label ("m=0…7")."""
    circle = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(circle), np.sin(circle), color="0.75", linestyle="--", linewidth=0.8)
    xy = points.numpy()
    ax.quiver(np.zeros(len(xy)), np.zeros(len(xy)), xy[:, 0], xy[:, 1], color=colors, angles="xy",
              scale_units="xy", scale=1, width=0.012)
    angles = np.arctan2(xy[:, 1], xy[:, 0])
    start = 0
    for i in range(1, len(xy) + 1):
        if i < len(xy) and abs(math.remainder(angles[i] - angles[start], 2 * math.pi)) < 0.25:
            continue  # this arrow points the same way as the first of the run: it shares that label
        label = f"{name}={positions[start]}" + (f"…{positions[i - 1]}" if i - 1 > start else "")
        ax.text(1.22 * xy[start, 0], 1.22 * xy[start, 1], label, ha="center", va="center", fontsize=8,
                color=colors[start])
        start = i
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.45, 1.45)
    ax.set_box_aspect(1)
    ax.axhline(0, color="0.85", linewidth=0.6)
    ax.axvline(0, color="0.85", linewidth=0.6)


@_with_fonts
def rope_rotation(
    head_dim: int = 8, positions: Iterable[int] = range(8), pair: int = 0, theta: float = 10000.0
) -> Figure:
    """A query pair rotated by its position: arrows for each position, for pair ``pair`` and, for contrast,
    the slowest pair (or the fastest, when ``pair`` is the slowest). The angle at position m is m * theta_i."""
    positions = _positions(positions)
    freqs = rope_frequencies(head_dim, theta)
    pair = _index(pair, len(freqs), "pair")
    other = len(freqs) - 1 if pair != len(freqs) - 1 else 0
    fig = Figure(figsize=(8.0, 4.8), layout="constrained")
    colors = [f"C{i % 10}" if len(positions) <= 10 else "C0" for i in range(len(positions))]
    for ax, i in zip(fig.subplots(1, 2), (pair, other), strict=True):
        points = rope_pair_points(head_dim, positions, i, theta)
        draw_rotations(ax, points, positions, colors)
        speed = float(freqs[i])
        ax.set_title(f"pair {i}: θ_{i} = {speed:.3g} rad/position\none turn every {2 * math.pi / speed:.3g} positions",
                     fontsize=9)
        ax.set_xlabel(f"x[{2 * i}]")
        ax.set_ylabel(f"x[{2 * i + 1}]")
    fig.suptitle(f"RoPE turns each pair of a query by m·θ_i (head_dim {head_dim}, base {theta:g})", fontsize=10)
    return fig


def rope_relative_values(
    head_dim: int = 64,
    max_distance: int = 64,
    theta: float = 10000.0,
    seed: int = 0,
    offsets: Sequence[int] = (0, 20, 500),
    samples: int = 256,
) -> dict[str, torch.Tensor]:
    """The numbers behind :func:`rope_relative`.

    ``scores[j, d]`` is the dot product of a random query rotated to position ``offsets[j] + d`` with a random
    key rotated to ``offsets[j]``: RoPE makes it the same for every offset. ``decay[d]`` is the mean |x_m . x_n|
    of a vector with itself d positions away, over ``samples`` random vectors, relative to d = 0. ``query`` and
    ``key`` are the random vectors (before rotation).
    """
    if not isinstance(max_distance, int) or max_distance < 1:
        raise ValueError(f"max_distance must be a positive integer, got {max_distance!r}")
    offsets = _positions(offsets, "offsets")
    gen = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, head_dim, generator=gen)
    distances = torch.arange(max_distance + 1)
    cos, sin = precompute_rope(head_dim, max(offsets) + max_distance + 1, theta)
    scores = []
    for o in offsets:
        key = apply_rope(k[None], cos[o : o + 1], sin[o : o + 1])[0]
        queries = apply_rope(q.expand(len(distances), head_dim), cos[o + distances], sin[o + distances])
        scores.append(queries @ key)
    x = torch.randn(samples, 1, head_dim, generator=gen)
    moved = apply_rope(x.expand(samples, len(distances), head_dim), cos[distances], sin[distances])
    similarity = (moved * x).sum(-1).abs().mean(0)
    return {"distances": distances, "offsets": torch.tensor(offsets), "scores": torch.stack(scores),
            "decay": similarity / similarity[0], "query": q, "key": k}


@_with_fonts
def rope_relative(
    head_dim: int = 64,
    max_distance: int = 64,
    theta: float = 10000.0,
    seed: int = 0,
    offsets: Sequence[int] = (0, 20, 500),
) -> Figure:
    """Left: q.k after RoPE against the distance between q and k, measured at several absolute positions; the
    curves lie on top of each other. Right: how |q.k| of a vector with itself fades with distance, on average."""
    values = rope_relative_values(head_dim, max_distance, theta, seed, offsets)
    d = values["distances"].numpy()
    fig = Figure(figsize=(10.0, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    styles = ["-", "--", ":", "-."]
    for j, (offset, row) in enumerate(zip(values["offsets"].tolist(), values["scores"], strict=True)):
        left.plot(d, row.numpy(), linestyle=styles[j % 4], linewidth=3.0 - 0.7 * min(j, 3),
                  label=f"key at {offset}, query at {offset} + distance")
    left.set_xlabel("distance m − n (positions)")
    left.set_ylabel("q_m · k_n after RoPE")
    left.set_title("the score depends only on the distance", fontsize=10)
    left.legend(fontsize=7)
    right.plot(d, values["decay"].numpy(), color="C3")
    right.set_xlabel("distance (positions)")
    right.set_ylabel("mean |x_m · x_n|, relative to distance 0")
    right.set_title("same content further away scores lower", fontsize=10)
    right.set_ylim(0, 1.05)
    fig.suptitle(f"RoPE's relative-position property (head_dim {head_dim}, base {theta:g})", fontsize=10)
    return fig


# ------------------------------------------------------------------------------------------ from a model


def token_strings(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """The piece of each id ("▁the", "<s>"...); for a tokenizer without ``id_to_piece`` (the CharTokenizer),
    the special pieces' names and each other id decoded alone."""
    if hasattr(tokenizer, "id_to_piece"):
        return [tokenizer.id_to_piece(i) for i in ids]
    return [SPECIAL_PIECES[i] if i < len(SPECIAL_PIECES) else tokenizer.decode([i]) for i in ids]


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
    if max(ids) >= config.vocab_size:
        raise ValueError(
            f"token id {max(ids)} does not fit the model's vocabulary of {config.vocab_size}: use the tokenizer "
            f"the model was trained with (this one has {len(tokenizer)} tokens)"
        )
    layer = None if layer is None else _index(layer, config.n_layers, "layer")
    head = None if head is None else _index(head, config.n_heads, "head")
    device = next(model.parameters()).device
    with torch.no_grad(), model.capture_attention() as maps:
        model(torch.tensor([ids], device=device))
    weights = torch.stack([m[0] for m in maps]).float().cpu()
    if head is not None:
        weights = weights[:, head]
    if layer is not None:
        weights = weights[layer]
    return token_strings(tokenizer, ids), weights


# ---------------------------------------------------------------------------------------------- training


def running_mean(values: Sequence[float], window: int) -> np.ndarray:
    """Mean of each value and the ``window - 1`` before it (fewer at the start)."""
    values = np.asarray(values, dtype=float)
    sums = np.cumsum(np.insert(values, 0, 0.0))
    lows = np.maximum(np.arange(1, len(values) + 1) - window, 0)
    return (sums[1:] - sums[lows]) / (np.arange(1, len(values) + 1) - lows)


@_with_fonts
def loss_curves(history: Any, ax: Axes | None = None, total_steps: int | None = None, title: str | None = None,
                vocab_size: int | None = None) -> Figure:
    """Training loss per step (light), its running mean, and validation loss (dots) of a
    :class:`~llama_course.train.History`; with ``vocab_size`` a dashed line marks a uniform guess, ln V."""
    if ax is None:
        fig = Figure(figsize=(7, 3.2))
        ax = fig.add_subplot()
    fig = ax.figure
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
    return fig


# ---------------------------------------------------------------------------------------------- generation


@_with_fonts
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
                  fontfamily=list(_label_fonts()[0]))
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    kept = int((shaped > 0).sum())
    ax.set_title(title or f"next token: {kept} of {shaped.numel()} tokens can be drawn", fontsize=9)
    ax.legend(fontsize=8)
    return ax.figure


@_with_fonts
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
                  fontsize=7 if len(tokens) <= 40 else 5, fontfamily=list(_label_fonts()[0]))
    ax.set_ylabel("attention weight")
    ax.set_ylim(0, max(0.05, float(weights.max()) * 1.1))
    ax.set_title(title or "attention of the newest position (prompt grey, generated blue)", fontsize=9)
    return fig


# ---------------------------------------------------------------------------------------------- fine-tuning


@_with_fonts
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
    return ax.figure


@_with_fonts
def answer_mask(pieces: Sequence[str], learned: Sequence[bool], width: int = 24) -> Figure:
    """An example's tokens in reading order, ``width`` tiles to a row: those the loss learns to predict in blue, the
    masked prompt in grey. A token too long for one tile (``<|assistant|>``) gets a wider one."""
    if len(pieces) != len(learned):
        raise ValueError(f"need one flag per token, got {len(pieces)} tokens and {len(learned)} flags")
    tile, size = 0.42, 6.0  # inches per tile, points per label
    labels = [token_label(p) for p in pieces]
    spans = [max(1.0, math.ceil(2 * (_text_widths([s], size)[0] + 0.08) / tile) / 2) for s in labels]
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
