"""Fonts and token labels for figures: Chinese drawn in a CJK font, whitespace made visible, ticks that fit."""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.textpath import text_to_path

from ..data.tokenizer import SPECIAL_PIECES

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
def label_fonts() -> tuple[tuple[str, ...], frozenset[int]]:
    """Font families for text in figures (the default sans font, then a CJK font for the glyphs it lacks:
    matplotlib falls back glyph by glyph along the list) and the characters they cover together."""
    register_cjk_font()
    families: list[str] = []
    covered: set[int] = set()
    primary = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    installed = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    fallbacks = [(name, installed[name]) for name in _CJK_FONTS if name in installed][:1]
    for name, path in [(FT2Font(primary).family_name, primary), *fallbacks]:
        families.append(name)
        covered.update(FT2Font(path).get_charmap())
    return tuple(families), frozenset(covered)


def font_families() -> list[str]:
    """The font family list every figure of the course uses: Latin in the default font, Chinese in a CJK one."""
    return list(label_fonts()[0])


def with_fonts(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Draw with :func:`font_families`, so titles, legends and labels show Chinese too."""

    @functools.wraps(draw)
    def drawn(*args: Any, **kwargs: Any) -> Figure:
        with rc_context({"font.family": font_families()}):
            return draw(*args, **kwargs)

    return drawn


def whole_figure(ax: Axes) -> Figure:
    """The figure ``ax`` draws in; for an ax in a subfigure, the whole figure around it."""
    return ax.figure if isinstance(ax.figure, Figure) else ax.figure.figure


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
    covered = label_fonts()[1]
    out = []
    for ch in printable_token(token):
        if ch == "$":
            out.append(r"\$")
        elif ord(ch) in covered:
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")
            if not _hinted and len(label_fonts()[0]) == 1 and ord(ch) >= 0x2E80:
                _hinted = True
                print(NO_CJK_FONT_HINT, file=sys.stderr)
    return "".join(out)


def set_token_ticks(ax: Axes, x_tokens: Sequence[str] | None, y_tokens: Sequence[str] | None, size: float) -> None:
    """Label the x and y ticks of ``ax`` with tokens, printed by :func:`token_label` ([]: no ticks, None: leave
    that axis alone)."""
    family = list(label_fonts()[0])
    if x_tokens is not None:
        labels = [token_label(t) for t in x_tokens]
        rotation = 90 if max(map(len, labels), default=0) > 2 else 0
        ax.set_xticks(range(len(labels)), labels, rotation=rotation, fontsize=size, fontfamily=family)
    if y_tokens is not None:
        ax.set_yticks(range(len(y_tokens)), [token_label(t) for t in y_tokens], fontsize=size, fontfamily=family)


def text_widths(labels: Sequence[str], size: float) -> list[float]:
    """Width in inches of each label, as text of this font size."""
    font = font_manager.FontProperties(family=font_families(), size=size)
    return [text_to_path.get_text_width_height_descent(s, font, ismath=False)[0] / 72 for s in labels]


def text_width(labels: Sequence[str], size: float) -> float:
    """Width in inches of the widest label, as a tick label of this font size."""
    return max(text_widths(labels, size), default=0)


def token_strings(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """The piece of each id ("▁the", "<s>"...); for a tokenizer without ``id_to_piece`` (the CharTokenizer),
    the special pieces' names and each other id decoded alone."""
    if hasattr(tokenizer, "id_to_piece"):
        return [tokenizer.id_to_piece(i) for i in ids]
    return [SPECIAL_PIECES[i] if i < len(SPECIAL_PIECES) else tokenizer.decode([i]) for i in ids]

