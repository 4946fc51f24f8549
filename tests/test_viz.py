import io
import math
import warnings

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from llama_course import Llama, LlamaConfig, causal_mask, rope_frequencies, viz
from llama_course.attention import attention
from llama_course.data.tokenizer import CharTokenizer, course_tokenizer

matplotlib.use("Agg")


def panels(fig: Figure) -> list:
    """The figure's axes without its colorbars."""
    return [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is None]


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def weights_for(n: int, heads: int = 1, layers: int = 1, seed: int = 0) -> torch.Tensor:
    scores = torch.randn(layers, heads, n, n, generator=torch.Generator().manual_seed(seed))
    return scores.masked_fill(~causal_mask(n), float("-inf")).softmax(-1)


@pytest.fixture(scope="module")
def char_model():
    tokenizer = CharTokenizer.from_text("abcdefgh ")
    config = LlamaConfig(vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=4, n_kv_heads=2, multiple_of=16,
                         max_seq_len=16)
    torch.manual_seed(0)
    return Llama(config).eval(), tokenizer


def test_figures_are_not_kept_by_pyplot():
    viz.attention_heatmap(weights_for(3)[0, 0], ["a", "b", "c"])
    viz.rope_rotation()
    assert plt.get_fignums() == []  # a notebook shows the returned figure once, not a second pyplot copy


def test_heatmap_ticks_mask_and_values():
    tokens = ["<s>", "▁the", "▁cat", "▁sat"]
    fig = viz.attention_heatmap(weights_for(4)[0, 0], tokens, title="head 0")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 and len(panels(fig)) == 1  # the map and its colorbar
    ax = panels(fig)[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == tokens
    assert [t.get_text() for t in ax.get_yticklabels()] == tokens
    hatched = [p for p in ax.patches if isinstance(p, Polygon)]
    assert len(hatched) == 1 and hatched[0].get_hatch() == "///"
    values = [t.get_text() for t in ax.texts if t.get_text()]
    assert len(values) == 10  # the 4 * 5 / 2 visible cells are printed, the masked ones are not
    big = viz.attention_heatmap(weights_for(13)[0, 0], [f"t{i}" for i in range(13)])
    assert not [t for t in panels(big)[0].texts if t.get_text()]


def test_heatmap_query_row_and_decoding_shape():
    tokens = list("abcde")
    fig = viz.attention_heatmap(weights_for(5)[0, 0], tokens, query=2)
    heatmap, bars = panels(fig)
    assert len(bars.patches) == 3  # the query at position 2 sees keys 0, 1, 2
    assert any(isinstance(p, Rectangle) and not p.get_fill() for p in heatmap.patches)
    last_two = weights_for(5)[0, 0, 3:]  # two new queries over five keys, as with a KV cache
    fig = viz.attention_heatmap(last_two, tokens)
    assert [t.get_text() for t in panels(fig)[0].get_yticklabels()] == ["d", "e"]


def test_heatmap_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="2-D.*got shape \\(1, 1, 3, 3\\).*weights\\[0, head\\]"):
        viz.attention_heatmap(weights_for(3), list("abc"))
    with pytest.raises(ValueError, match="got 2 tokens.*expected 3 tokens"):
        viz.attention_heatmap(weights_for(3)[0, 0], list("ab"))
    with pytest.raises(ValueError, match="more queries \\(3\\) than keys \\(2\\)"):
        viz.attention_heatmap(torch.rand(3, 2), list("ab"))
    with pytest.raises(ValueError, match="query index 3 is out of range"):
        viz.attention_heatmap(weights_for(3)[0, 0], list("abc"), query=3)
    with pytest.raises(TypeError, match="list of strings"):
        viz.attention_heatmap(weights_for(3)[0, 0], "abc")


def test_token_labels_are_visible_and_draw_without_warnings():
    assert viz.token_label(" ") == "␣"
    assert viz.token_label("a\nb\t") == "a\\nb\\t"
    assert viz.token_label("$5") == "\\$5"
    assert viz.token_label("小\x07") == "小\\x07"  # Chinese as itself (a CJK font is a dependency), controls escaped
    fig = viz.attention_heatmap(weights_for(4)[0, 0], ["<s>", "▁小猫", " ", "$x$"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Glyph missing" or mathtext surprises
        fig.savefig(io.BytesIO(), format="png")


def no_missing_glyphs(fig: Figure) -> None:
    """Draw ``fig``; matplotlib warns "Glyph 23567 (\\N{...}) missing from font(s) DejaVu Sans." for a character
    no font in the family list can draw (and shows an empty box)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(io.BytesIO(), format="png")


def test_chinese_is_drawn_in_every_kind_of_text():
    assert viz.font_families()[0] == "DejaVu Sans" and "CJK" in viz.font_families()[1]  # Latin stays in DejaVu
    assert viz.cjk_font_file() is not None  # the dependency's font, not one that happens to be on this machine
    pieces = ["<s>", "▁小猫", "找到", "了", "它的", "球", "。", "“你好！”"]
    fig = viz.attention_heatmap(weights_for(len(pieces))[0, 0], pieces, title="注意力 attention", query=4)
    assert [t.get_text() for t in panels(fig)[0].get_xticklabels()] == ["<s>", "▁小猫", "找到", "了", "它的", "球",
                                                                         "。", "“你好！”"]
    assert panels(fig)[1].get_title() == 'what "它的" (position 4) attends to'
    no_missing_glyphs(fig)
    no_missing_glyphs(viz.next_token_bars(pieces, torch.full((8,), 0.125), torch.full((8,), 0.125), title="下一个词"))
    no_missing_glyphs(viz.answer_mask(pieces, [False] * 4 + [True] * 4))
    no_missing_glyphs(viz.confusion_matrix(torch.eye(2), ["英文", "中文"]))


def test_without_a_cjk_font_chinese_is_spelled_out_with_a_hint(monkeypatch, capsys):
    from matplotlib.ft2font import FT2Font

    from llama_course.viz import labels

    latin = matplotlib.font_manager.findfont("DejaVu Sans")
    monkeypatch.setattr(labels, "label_fonts", lambda: (("DejaVu Sans",), frozenset(FT2Font(latin).get_charmap())))
    monkeypatch.setattr(labels, "_hinted", False)
    assert viz.token_label("▁小猫") == "▁\\u5c0f\\u732b"  # a last resort: better than empty boxes
    assert viz.token_label("小") == "\\u5c0f"
    assert capsys.readouterr().err == viz.NO_CJK_FONT_HINT + "\n"  # said once


def test_chinese_in_a_notebook_figure_after_setup():
    from llama_course.classroom.course import setup

    setup(quiet=True)
    fig = Figure()
    fig.add_subplot().set_title("小猫找到了它的球 — the cat found its ball")
    no_missing_glyphs(fig)


def test_answer_mask_tiles_do_not_overlap():
    pieces = ["▁ball", "?", "<|end|>", "<|assistant|>", "▁Molly", "<|end|>"] * 5
    fig = viz.answer_mask(pieces, [False, False, False, False, True, True] * 5, width=12)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    ax = fig.axes[0]
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    tiles = [p.get_window_extent(renderer) for p in ax.patches]
    assert len(boxes) == len(tiles) == len(pieces)
    for text, tile in zip(boxes, tiles, strict=True):
        assert tile.x0 <= text.x0 and text.x1 <= tile.x1  # every label inside its own tile
    for a, b in zip(tiles, tiles[1:], strict=False):
        assert a.x1 <= b.x0 or b.y1 <= a.y0  # the next tile is to the right, or on the next row


def test_grid_from_captured_maps_groups_kv_heads(char_model):
    model, tokenizer = char_model
    ids = torch.tensor([tokenizer.encode("abc de", bos=True)])
    with torch.no_grad(), model.capture_attention() as maps:
        model(ids)
    tokens = viz.token_strings(tokenizer, ids[0].tolist())
    fig = viz.attention_grid(maps, tokens, n_kv_heads=model.config.n_kv_heads)
    assert len(panels(fig)) == 2 * 4  # layers x heads
    assert "kv 0" in texts(fig) and "kv 1" in texts(fig)
    frames = [a for a in fig.artists if isinstance(a, Rectangle)]
    assert [f.get_edgecolor() for f in frames] == [matplotlib.colors.to_rgba(c) for c in ("C0", "C1")]
    assert {f"head {h}" for h in range(4)} <= set(texts(fig))
    plain = viz.attention_grid(torch.stack([m[0] for m in maps]), tokens)
    assert not [t for t in texts(plain) if t.startswith("kv")]


def test_grid_subsets_and_query_bars():
    w = weights_for(5, heads=4, layers=3)
    fig = viz.attention_grid(w, list("abcde"), n_kv_heads=1, layers=[2], heads=[1, 3])
    assert len(panels(fig)) == 2
    assert "kv 0" in texts(fig)
    fig = viz.attention_grid(w, list("abcde"), layers=1, query=3)
    bars = panels(fig)[-1]
    assert len(panels(fig)) == 4 + 1 and len(bars.patches) == 4 * 4  # 4 heads x the 4 keys query 3 sees


def test_grid_errors():
    w = weights_for(3, heads=4, layers=2)
    with pytest.raises(ValueError, match="layer index 2 is out of range: expected 0 <= layer < 2"):
        viz.attention_grid(w, list("abc"), layers=[2])
    with pytest.raises(ValueError, match="head index -1 is out of range"):
        viz.attention_grid(w, list("abc"), heads=[-1])
    with pytest.raises(ValueError, match="n_kv_heads must be a positive divisor of the 4 heads, got 3"):
        viz.attention_grid(w, list("abc"), n_kv_heads=3)
    with pytest.raises(ValueError, match="4-D"):
        viz.attention_grid(w[0], list("abc"))
    with pytest.raises(ValueError, match="expected 3 tokens"):
        viz.attention_grid(w, list("abcd"))
    with pytest.raises(ValueError, match="maps is empty"):
        viz.attention_grid([], list("abc"))
    with pytest.raises(ValueError, match="same shape"):
        viz.attention_grid([w[:1], w[:1, :2]], list("abc"))


@pytest.mark.parametrize("q_len", [6, 2])
def test_attention_steps_match_the_package_and_pytorch(q_len):
    gen = torch.Generator().manual_seed(1)
    q, k, v = torch.randn(q_len, 8, generator=gen), torch.randn(6, 8, generator=gen), torch.randn(6, 5, generator=gen)
    steps = viz.attention_step_values(q, k, v)
    mask = causal_mask(q_len, 6)
    out, weights = attention(q, k, v, mask)
    torch.testing.assert_close(steps["scores"], q @ k.T)
    torch.testing.assert_close(steps["scaled"], q @ k.T / math.sqrt(8))
    assert torch.isneginf(steps["masked"][~mask]).all()
    torch.testing.assert_close(steps["masked"][mask], steps["scaled"][mask])
    torch.testing.assert_close(steps["weights"], weights)
    torch.testing.assert_close(steps["output"], out)
    torch.testing.assert_close(steps["output"], F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_attention_steps_figure_and_errors():
    q, k, v = torch.randn(3, 3, 4)
    fig = viz.attention_steps(q, k, v, ["<s>", "▁a", "▁b"])
    assert len(panels(fig)) == 6
    titles = [ax.get_title() for ax in panels(fig)]
    assert titles[0].startswith("1. scores") and titles[-1].startswith("6. output")
    assert "÷ 2.00" in titles[1]
    with pytest.raises(ValueError, match="2-D.*q\\[0, h\\]"):
        viz.attention_steps(q[None], k, v, list("abc"))
    with pytest.raises(ValueError, match="same width d_k"):
        viz.attention_steps(q[:, :2], k, v, list("abc"))
    with pytest.raises(ValueError, match="expected 3 tokens"):
        viz.attention_steps(q, k, v, list("ab"))


def test_rope_pair_points_turn_by_position_times_frequency():
    points = viz.rope_pair_points(head_dim=8, positions=[0, 1, 5], pair=1)
    speed = float(rope_frequencies(8)[1])
    expected = torch.tensor([[math.cos(m * speed), math.sin(m * speed)] for m in (0, 1, 5)])
    torch.testing.assert_close(points, expected)
    fig = viz.rope_rotation(head_dim=8, positions=range(4), pair=0)
    assert len(fig.axes) == 2
    assert "pair 0" in fig.axes[0].get_title() and "pair 3" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match="pair index 4 is out of range"):
        viz.rope_rotation(head_dim=8, pair=4)
    with pytest.raises(ValueError, match="non-negative integers"):
        viz.rope_rotation(positions=[])


def test_rope_scores_depend_only_on_distance():
    values = viz.rope_relative_values(head_dim=32, max_distance=40, offsets=(0, 7, 300))
    scores = values["scores"]
    assert scores.shape == (3, 41)
    for row in scores[1:]:
        torch.testing.assert_close(row, scores[0], atol=1e-4, rtol=1e-4)
    assert not torch.allclose(scores[0, :-1], scores[0, 1:])  # the score does change with distance
    assert values["decay"][0] == 1 and values["decay"][1:].max() < 1
    fig = viz.rope_relative(head_dim=32, max_distance=40)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 3


def test_attention_maps_from_a_model(char_model):
    model, tokenizer = char_model
    tokens, weights = viz.attention_maps(model, tokenizer, "abc d")
    assert tokens == ["<s>", "a", "b", "c", " ", "d"]
    assert weights.shape == (2, 4, 6, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 6))
    assert (weights.triu(1) == 0).all()
    assert viz.attention_maps(model, tokenizer, "ab", layer=1)[1].shape == (4, 3, 3)
    assert viz.attention_maps(model, tokenizer, "ab", head=2)[1].shape == (2, 3, 3)
    torch.testing.assert_close(viz.attention_maps(model, tokenizer, "ab", layer=1, head=2)[1], weights[1, 2, :3, :3])


def test_attention_maps_errors(char_model):
    model, tokenizer = char_model
    with pytest.raises(ValueError, match="17 tokens long \\(with <s>\\) but the model reads at most 16"):
        viz.attention_maps(model, tokenizer, "a" * 16)
    bigger = CharTokenizer.from_text("abcdefgh xyz")
    with pytest.raises(ValueError, match=r"ids must be in \[0, 13\) \(the model's vocabulary\)"):
        viz.attention_maps(model, bigger, "xyz")
    with pytest.raises(ValueError, match="layer index 5 is out of range"):
        viz.attention_maps(model, tokenizer, "ab", layer=5)
    with pytest.raises(TypeError, match="Llama"):
        viz.attention_maps(object(), tokenizer, "ab")


def test_attention_maps_with_the_course_tokenizer():
    tokenizer = course_tokenizer()
    model = Llama(LlamaConfig.preset("tiny").replace(n_layers=1))
    tokens, weights = viz.attention_maps(model, tokenizer, "Once upon a time")
    assert tokens[0] == "<s>" and tokens[1] == "▁Once"
    assert weights.shape == (1, 4, len(tokens), len(tokens))


def test_confusion_matrix_and_answer_mask_draw_and_refuse_bad_shapes():
    from llama_course.viz import answer_mask, confusion_matrix

    fig = confusion_matrix(torch.tensor([[5, 1], [2, 8]]), ["sad", "happy"])
    assert fig.axes[0].get_title() == "accuracy 81.2%"
    with pytest.raises(ValueError, match="2x2 matrix"):
        confusion_matrix(torch.ones(3, 3), ["sad", "happy"])
    fig = answer_mask(["<s>", "Q", "A", "<|end|>"], [False, False, True, True])
    assert fig.axes[0].get_title().startswith("2 of 3 predictions count")
    with pytest.raises(ValueError, match="one flag per token"):
        answer_mask(["a"], [True, False])
