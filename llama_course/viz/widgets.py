"""Interactive explorers (ipywidgets): what any Llama attends to in any text, and how RoPE turns q and k.

Each explorer is an ``ipywidgets.VBox``: make it the last expression of a notebook cell to show it. Its picture
is an ``ipywidgets.Image`` of PNG bytes drawn with :mod:`llama_course.viz`, so it redraws without a matplotlib
output area and builds without a browser. Where no front end runs, ``explorer.static()`` returns the current
picture as a Figure, and a notebook viewer without widget support shows the picture saved with the output.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from ..model import module_device
from ..rope import rope_frequencies
from .attention import attention_grid, attention_heatmap, attention_maps
from .generation import generation_attention_bars, next_token_bars
from .labels import printable_token, token_label, token_strings
from .rope import draw_rotations, rope_pair_points, rope_relative_values

DPI = 100  # CSS pixels per inch of figure: a picture is shown at this size, like the notebook's own figures
PIXEL_RATIO = 2  # ... and drawn with twice the pixels, so it stays sharp on high-density screens
ALL, NONE = "all", "none"  # the head menu's "all heads" and the query menu's "none" (None would mean no selection)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI * PIXEL_RATIO)
    return buffer.getvalue()


class _Explorer(widgets.VBox):
    """Controls, an error line and a picture (and what goes ``below`` it); any control change redraws the picture."""

    def __init__(self, controls: list[widgets.Widget], below: Sequence[widgets.Widget] = ()) -> None:
        self.message = widgets.HTML()
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        super().__init__([*controls, self.message, self.image, *below])

    def figure(self) -> Figure:
        """The picture for the controls' current values (a ValueError says what is wrong with them)."""
        raise NotImplementedError

    def static(self) -> Figure:
        """The current picture as a matplotlib Figure, for where no widget front end runs."""
        return self.figure()

    def redraw(self, change: Any = None) -> None:
        """Draw the picture again, or show in the error line why it cannot be drawn."""
        try:
            fig = self.figure()
            picture = _png(fig)
        except ValueError as e:
            self.show_error(e)
            return
        self.message.value = ""
        self.image.layout.width = f"{round(fig.get_figwidth() * DPI)}px"  # its own size, not stretched to the cell
        self.image.value = picture

    def show_error(self, error: Exception | str) -> None:
        """Show a red line above the picture saying what went wrong."""
        self.message.value = f'<span style="color:#b00020">{html.escape(str(error))}</span>'

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | tuple[dict[str, Any], dict[str, Any]]:
        """The widget, plus its current picture (shown at the widget's size) for viewers that cannot run widgets."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if not self.image.value:
            return bundle
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        width = (self.image.layout.width or "").removesuffix("px")
        return bundle, ({"image/png": {"width": int(width)}} if width.isdigit() else {})


class AttentionExplorer(_Explorer):
    """Type a text and see a model's attention: pick a layer, a head or all heads, and a query token whose row
    is shown as bars. Works with any ``Llama`` and its tokenizer (the course ``Tokenizer`` or a ``CharTokenizer``).

    >>> AttentionExplorer(model, tokenizer)  # the last line of a notebook cell
    """

    def __init__(self, model: Any, tokenizer: Any, text: str = "Once upon a time, a little cat saw a big dog.") -> None:
        if not hasattr(model, "capture_attention") or not hasattr(model, "config"):
            raise TypeError(f"model must be a llama_course Llama, got {type(model).__name__}")
        self.model, self.tokenizer = model, tokenizer
        config = model.config
        self.n_kv_heads = config.n_kv_heads
        per_kv = config.n_heads // config.n_kv_heads
        self.text = widgets.Textarea(value=text, description="text", continuous_update=False,
                                     layout=widgets.Layout(width="95%"))
        self.layer = widgets.Dropdown(options=[(f"layer {i}", i) for i in range(config.n_layers)], value=0,
                                      description="layer")
        heads = [(f"head {h} (kv {h // per_kv})" if per_kv > 1 else f"head {h}", h) for h in range(config.n_heads)]
        self.head = widgets.Dropdown(options=[("all heads", ALL), *heads], value=ALL, description="head")
        self.token = widgets.Dropdown(options=[("none", NONE)], value=NONE, description="query")
        super().__init__([self.text, widgets.HBox([self.layer, self.head, self.token])])
        self.tokens: list[str] = []
        self.weights: torch.Tensor | None = None  # (layers, heads, n, n) for self.tokens
        for control in (self.layer, self.head, self.token):
            control.observe(self.redraw, names="value")
        self.text.observe(self._read_text, names="value")
        self._read_text()

    def __repr__(self) -> str:
        return (f"AttentionExplorer({len(self.tokens)} tokens, layer {self.layer.value}, head {self.head.label}, "
                f"query {self.token.label})")

    def _read_text(self, change: Any = None) -> None:
        """Run the model on the text, offer its tokens as queries (keeping the choice if it still fits), redraw."""
        try:
            tokens, weights = attention_maps(self.model, self.tokenizer, self.text.value)
        except ValueError as e:
            self.show_error(f"{e} (the picture still shows the last text that fit)" if self.tokens else e)
            return
        self.tokens, self.weights = tokens, weights
        chosen = self.token.value
        self.token.unobserve(self.redraw, names="value")  # one redraw below, not one per option change
        try:
            queries = [(f"{i}: {printable_token(t)}", i) for i, t in enumerate(tokens)]  # HTML: Chinese as is
            self.token.options = [("none", NONE), *queries]
            self.token.value = chosen if chosen != NONE and chosen < len(tokens) else NONE
        finally:
            self.token.observe(self.redraw, names="value")
        self.redraw()

    def figure(self) -> Figure:
        if self.weights is None:
            raise ValueError("no attention to show yet: enter a text the model can read")
        layer, head = self.layer.value, self.head.value
        query = None if self.token.value == NONE else self.token.value
        if head == ALL:
            return attention_grid(self.weights, self.tokens, self.n_kv_heads, layers=layer, query=query)
        title = f"layer {layer}, head {head}"
        return attention_heatmap(self.weights[layer, head], self.tokens, title=title, query=query)


class RopeExplorer(_Explorer):
    """Move a query and a key along the sequence and watch RoPE turn them: one pair's rotation on the left, the
    full score q·k against the distance m − n on the right, which stays the same wherever the key sits."""

    def __init__(self, head_dim: int = 64, max_distance: int = 64, seed: int = 0) -> None:
        if not isinstance(head_dim, int) or head_dim < 2 or head_dim % 2:
            raise ValueError(f"head_dim must be a positive even integer, got {head_dim!r}")
        if not isinstance(max_distance, int) or max_distance < 1:
            raise ValueError(f"max_distance must be a positive integer, got {max_distance!r}")
        self.head_dim, self.max_distance, self.seed = head_dim, max_distance, seed
        style = {"description_width": "9em"}
        self.key_position = widgets.IntSlider(value=0, min=0, max=500, description="key position n", style=style)
        self.distance = widgets.IntSlider(value=5, min=0, max=max_distance, description="distance m − n",
                                          style=style)
        self.pair = widgets.IntSlider(value=0, min=0, max=head_dim // 2 - 1, description="pair i", style=style)
        self.theta = widgets.FloatLogSlider(value=10000.0, base=10, min=2, max=6, step=0.1, description="base θ",
                                            style=style)
        super().__init__([widgets.HBox([self.key_position, self.distance]), widgets.HBox([self.pair, self.theta])])
        for control in (self.key_position, self.distance, self.pair, self.theta):
            control.observe(self.redraw, names="value")
        self.redraw()

    def __repr__(self) -> str:
        return (f"RopeExplorer(n={self.key_position.value}, m-n={self.distance.value}, pair={self.pair.value}, "
                f"theta={self.theta.value:g})")

    def figure(self) -> Figure:
        n, d, i, theta = self.key_position.value, self.distance.value, self.pair.value, self.theta.value
        values = rope_relative_values(self.head_dim, self.max_distance, theta, self.seed, offsets=(0, n))
        fig = Figure(figsize=(10.0, 4.4), layout="constrained")
        left, right = fig.subplots(1, 2, width_ratios=[1, 1.5])
        for vector, position, label, color in (("query", n + d, "q: m", "C0"), ("key", n, "k: n", "C3")):
            point = rope_pair_points(self.head_dim, [position], i, theta, vector=values[vector])
            draw_rotations(left, point / point.norm(), [position], [color], name=label)
        speed = float(rope_frequencies(self.head_dim, theta)[i])
        left.set_title(f"pair {i} (θ_{i} = {speed:.3g} rad/position): q turned by m·θ_{i}, k by n·θ_{i};\n"
                       f"the angle between them changes by (m − n)·θ_{i} = {d * speed:.3g} rad", fontsize=8)
        distances = values["distances"].numpy()
        for j, (offset, style) in enumerate(((0, "-"), (n, "--"))):
            right.plot(distances, values["scores"][j].numpy(), linestyle=style, linewidth=3.0 - 1.4 * j,
                       label=f"key at {offset}, query at {offset} + distance")
        score = float(values["scores"][1, d])
        right.plot([d], [score], "o", color="crimson", label=f"m = {n + d}, n = {n}: q·k = {score:.3f}")
        right.set_xlabel("distance m − n")
        right.set_ylabel("q_m · k_n after RoPE")
        right.set_title(f"the score depends on m − n only (head_dim {self.head_dim}, base {theta:g})", fontsize=9)
        right.legend(fontsize=7)
        return fig


def _check_model(model: Any) -> None:
    if not hasattr(model, "capture_attention") or not hasattr(model, "config"):
        raise TypeError(f"model must be a llama_course Llama, got {type(model).__name__}")


class SamplingPlayground(_Explorer):
    """A prompt and the sampling knobs: the chart shows the next-token distribution before and after
    temperature, top-k, top-p and min-p, and below it a continuation sampled with those settings."""

    def __init__(self, model: Any, tokenizer: Any, prompt: str = "Once upon a time, there was a little",
                 max_new_tokens: int = 40, seed: int = 0) -> None:
        _check_model(model)
        self.model, self.tokenizer, self.max_new_tokens = model, tokenizer, max_new_tokens
        style = {"description_width": "7em"}
        self.prompt = widgets.Text(value=prompt, description="prompt", continuous_update=False,
                                   layout=widgets.Layout(width="95%"))
        self.temperature = widgets.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.05, description="temperature",
                                               style=style, continuous_update=False)
        self.top_k = widgets.IntSlider(value=0, min=0, max=100, description="top-k (0 off)", style=style,
                                       continuous_update=False)
        self.top_p = widgets.FloatSlider(value=1.0, min=0.05, max=1.0, step=0.05, description="top-p", style=style,
                                         continuous_update=False)
        self.min_p = widgets.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.01, description="min-p", style=style,
                                         continuous_update=False)
        self.seed = widgets.IntText(value=seed, description="seed", style=style, layout=widgets.Layout(width="14em"))
        self.sample = widgets.HTML()
        super().__init__([self.prompt, widgets.HBox([self.temperature, self.top_k]),
                          widgets.HBox([self.top_p, self.min_p, self.seed])], below=[self.sample])
        for control in (self.prompt, self.temperature, self.top_k, self.top_p, self.min_p, self.seed):
            control.observe(self.redraw, names="value")
        self.redraw()

    def __repr__(self) -> str:
        return f"SamplingPlayground({self.settings()})"

    def settings(self) -> dict[str, Any]:
        """The sliders' values as sampling options for :mod:`llama_course.generate`."""
        return {"temperature": self.temperature.value, "top_k": self.top_k.value or None,
                "top_p": self.top_p.value if self.top_p.value < 1 else None, "min_p": self.min_p.value or None}

    def distributions(self) -> tuple[list[int], torch.Tensor, torch.Tensor]:
        """The prompt's ids, the plain next-token probabilities and those sampled from with these settings."""
        from ..generate import Sampling, next_token_probs

        ids = self.tokenizer.encode(self.prompt.value, bos=True)
        if len(ids) >= self.model.config.max_seq_len:
            raise ValueError(f"the prompt is {len(ids)} tokens; the model reads at most "
                             f"{self.model.config.max_seq_len - 1} before generating: shorten it")
        device = module_device(self.model)
        with torch.no_grad():
            logits = self.model(torch.tensor([ids], device=device))[0, -1].float().cpu()
        return ids, logits.softmax(-1), next_token_probs(logits[None], Sampling(**self.settings()))[0]

    def figure(self) -> Figure:
        ids, plain, shaped = self.distributions()
        pieces = token_strings(self.tokenizer, range(plain.numel()))
        return next_token_bars(pieces, plain, shaped)

    def redraw(self, change: Any = None) -> None:
        super().redraw(change)
        if self.message.value:  # the settings or prompt are wrong: no sample either
            self.sample.value = ""
            return
        from ..generate import complete

        text = complete(self.model, self.tokenizer, self.prompt.value, self.max_new_tokens, seed=self.seed.value,
                        **self.settings())
        continuation = text[len(self.prompt.value):]
        self.sample.value = (f"<b>{html.escape(self.prompt.value)}</b>{html.escape(continuation)}")


class GenerationAttention(_Explorer):
    """Generate a continuation, then step through it: for each new token, the attention of the position that
    predicted it over the prompt (grey) and the text generated before it (blue)."""

    def __init__(self, model: Any, tokenizer: Any, prompt: str = "Once upon a time", max_new_tokens: int = 30,
                 seed: int = 0, **sampling: Any) -> None:
        _check_model(model)
        from ..generate import generate_with_attention

        self.tokenizer = tokenizer
        config = model.config
        self.prompt_ids = tokenizer.encode(prompt, bos=True)
        sampling.setdefault("temperature", 0.8)
        self.new_ids, self.rows = generate_with_attention(model, self.prompt_ids, max_new_tokens, seed=seed,
                                                          **sampling)
        if not self.new_ids:
            raise ValueError("nothing was generated: the prompt fills the model's context")
        self.pieces = token_strings(tokenizer, self.prompt_ids + self.new_ids)
        self.step = widgets.IntSlider(value=0, min=0, max=len(self.new_ids) - 1, description="new token",
                                      continuous_update=False)
        self.layer = widgets.Dropdown(options=[("mean of layers", ALL)] + [(f"layer {i}", i)
                                                                           for i in range(config.n_layers)],
                                      value=ALL, description="layer")
        self.head = widgets.Dropdown(options=[("mean of heads", ALL)] + [(f"head {h}", h)
                                                                         for h in range(config.n_heads)],
                                     value=ALL, description="head")
        super().__init__([self.step, widgets.HBox([self.layer, self.head])])
        for control in (self.step, self.layer, self.head):
            control.observe(self.redraw, names="value")
        self.redraw()

    def __repr__(self) -> str:
        return f"GenerationAttention({len(self.new_ids)} new tokens, step {self.step.value})"

    def weights(self, step: int | None = None) -> torch.Tensor:
        """The attention row (over every token before the new one) for the chosen layer and head."""
        row = self.rows[self.step.value if step is None else step]  # (layers, heads, k_len)
        row = row.mean(0) if self.layer.value == ALL else row[self.layer.value]
        return row.mean(0) if self.head.value == ALL else row[self.head.value]

    def figure(self) -> Figure:
        step = self.step.value
        n_before = len(self.prompt_ids) + step
        new_piece = token_label(self.pieces[n_before])
        where = f"{self.layer.label}, {self.head.label}"
        return generation_attention_bars(self.pieces[:n_before], self.weights(), len(self.prompt_ids),
                                             title=f'predicting new token {step}, "{new_piece}" ({where})')
