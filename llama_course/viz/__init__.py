"""Looking inside the model: matplotlib figures (one module per subject) and ipywidgets explorers (``widgets``).

Every figure function returns a :class:`matplotlib.figure.Figure` that pyplot does not know about, so a notebook
shows it exactly once (as a cell's last value, or with ``display(fig)``). The ``*_values`` helpers return the
numbers a picture draws, so they can be checked.
"""

from .attention import attention_grid, attention_heatmap, attention_maps, attention_step_values, attention_steps
from .generation import generation_attention_bars, next_token_bars
from .labels import NO_CJK_FONT_HINT, cjk_font_file, font_families, printable_token, token_label, token_strings
from .rope import draw_rotations, rope_pair_points, rope_relative, rope_relative_values, rope_rotation
from .training import answer_mask, confusion_matrix, loss_curves, running_mean

__all__ = [
    "NO_CJK_FONT_HINT", "answer_mask", "attention_grid", "attention_heatmap", "attention_maps",
    "attention_step_values", "attention_steps", "cjk_font_file", "confusion_matrix", "draw_rotations",
    "font_families", "generation_attention_bars", "loss_curves", "next_token_bars", "printable_token",
    "rope_pair_points", "rope_relative", "rope_relative_values", "rope_rotation", "running_mean", "token_label",
    "token_strings",
]
