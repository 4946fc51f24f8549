import io
import warnings

import ipywidgets as widgets
import matplotlib
import pytest
import torch
from matplotlib.figure import Figure

from llama_course import Llama, LlamaConfig
from llama_course.data.tokenizer import CharTokenizer, course_tokenizer
from llama_course.viz.widgets import ALL, NONE, AttentionExplorer, RopeExplorer

matplotlib.use("Agg")

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def explorer():
    torch.manual_seed(0)
    return AttentionExplorer(Llama(LlamaConfig.preset("tiny")), course_tokenizer(), text="Once upon a time, a cat.")


def picture(explorer) -> bytes:
    return bytes(explorer.image.value)  # ipywidgets keeps the PNG as a memoryview


def changes_picture(explorer, control, value):
    before = picture(explorer)
    control.value = value
    assert explorer.message.value == ""
    assert picture(explorer).startswith(PNG) and picture(explorer) != before


def test_attention_explorer_builds_headless(explorer):
    assert isinstance(explorer, widgets.VBox)
    assert picture(explorer).startswith(PNG) and explorer.message.value == ""
    assert explorer.head.value == ALL and explorer.head.label == "all heads"
    assert explorer.head.options[1] == ("head 0 (kv 0)", 0)  # the tiny preset has 2 kv heads for 4 query heads
    assert explorer.token.value == NONE
    assert len(explorer.token.options) == len(explorer.tokens) + 1
    assert explorer.tokens[:2] == ["<s>", "▁Once"]


def test_every_control_redraws(explorer):
    changes_picture(explorer, explorer.head, 1)
    changes_picture(explorer, explorer.layer, 2)
    changes_picture(explorer, explorer.token, 3)
    changes_picture(explorer, explorer.head, ALL)  # all heads, with the query's bars
    changes_picture(explorer, explorer.token, NONE)
    changes_picture(explorer, explorer.text, "The dog ran.")
    assert [label for label, _ in explorer.token.options[1:3]] == ["0: <s>", "1: ▁The"]


def test_a_new_text_keeps_the_query_when_it_still_fits(explorer):
    explorer.text.value = "One two three four five."
    explorer.token.value = 2
    explorer.text.value = "Six seven eight."
    assert explorer.token.value == 2
    explorer.text.value = "A"
    assert explorer.token.value == NONE


def test_too_long_text_is_a_message_not_an_exception(explorer):
    explorer.text.value = "A short one."
    before = picture(explorer)
    explorer.text.value = "word " * 300
    assert "at most 256" in explorer.message.value and "last text that fit" in explorer.message.value
    assert picture(explorer) == before
    explorer.text.value = "Fine again."
    assert explorer.message.value == ""


def test_static_fallback_and_notebook_repr(explorer):
    assert isinstance(explorer.static(), Figure)
    bundle, metadata = explorer._repr_mimebundle_()
    assert bundle["text/plain"].startswith("AttentionExplorer(") and len(bundle["text/plain"]) < 110
    assert "image/png" in bundle and "application/vnd.jupyter.widget-view+json" in bundle
    assert metadata["image/png"]["width"] == int(explorer.image.layout.width.removesuffix("px"))


def test_pictures_are_drawn_for_the_size_they_are_shown_at(explorer):
    """A picture is shown at its figure's size (not stretched across the cell) with twice its pixels: sharp."""
    from PIL import Image

    shown = int(explorer.image.layout.width.removesuffix("px"))
    pixels = Image.open(io.BytesIO(picture(explorer))).size[0]
    assert shown == round(explorer.static().get_figwidth() * 100) and pixels == 2 * shown


def test_chinese_text_shows_chinese_in_the_menu_and_the_picture():
    torch.manual_seed(0)
    chinese = AttentionExplorer(Llama(LlamaConfig.preset("tiny")), course_tokenizer(), text="小猫找到了它的球。")
    pieces = [label.split(": ", 1)[1] for label, _ in chinese.token.options[1:]]
    assert "".join(pieces).replace("▁", "") == "<s>小猫找到了它的球。"  # the menu is HTML: no \\uXXXX escapes
    chinese.token.value = 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for a character it lacks
        fig = chinese.static()
        fig.savefig(io.BytesIO(), format="png")
    title = next(ax.get_title() for ax in fig.axes if ax.get_title().startswith("what"))
    assert title == f'what "{chinese.tokens[3]}" (position 3) attends to' and "\\u" not in title


def test_attention_explorer_with_a_char_tokenizer():
    tokenizer = CharTokenizer.from_text("abc ")
    model = Llama(LlamaConfig(vocab_size=len(tokenizer), dim=16, n_layers=1, n_heads=2, multiple_of=8, max_seq_len=8))
    explorer = AttentionExplorer(model, tokenizer, text="ab c")
    assert explorer.tokens == ["<s>", "a", "b", " ", "c"]
    assert explorer.head.options[1] == ("head 0", 0)
    changes_picture(explorer, explorer.token, 3)
    explorer.text.value = "abcabcabc"
    assert "at most 8" in explorer.message.value


@pytest.mark.slow  # a subprocess or a kernel: seconds
def test_rope_explorer_redraws_and_falls_back():
    explorer = RopeExplorer(head_dim=16, max_distance=20)
    assert picture(explorer).startswith(PNG)
    changes_picture(explorer, explorer.key_position, 50)
    changes_picture(explorer, explorer.distance, 7)
    changes_picture(explorer, explorer.pair, 3)
    changes_picture(explorer, explorer.theta, 500000.0)
    assert repr(explorer) == "RopeExplorer(n=50, m-n=7, pair=3, theta=500000)"
    fig = explorer.static()
    assert isinstance(fig, Figure) and len(fig.axes) == 2


def test_explorers_reject_bad_arguments():
    with pytest.raises(TypeError, match="Llama"):
        AttentionExplorer(object(), CharTokenizer("ab"))
    with pytest.raises(ValueError, match="head_dim must be a positive even integer, got 7"):
        RopeExplorer(head_dim=7)
