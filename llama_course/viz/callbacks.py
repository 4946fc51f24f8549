"""Things to watch while a model trains: pass them to :func:`llama_course.training.loop.train` as ``callbacks``.

Each is called after every optimizer step with a :class:`~llama_course.training.loop.StepInfo` and decides
for itself when to act.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import torch

from ..generate import complete
from ..model import Llama
from ..training.loop import StepInfo

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _when(every: int | Iterable[int]) -> Callable[[int], bool]:
    """A test "is this step one to act on?" from an interval or an explicit list of steps."""
    if isinstance(every, int):
        if every < 1:
            raise ValueError(f"every must be a positive number of steps, got {every}")
        return lambda step: step % every == 0
    steps = set(every)
    return lambda step: step in steps


class Samples:
    """Text the model writes from ``prompt`` at chosen steps, kept in ``.samples`` as (step, text)."""

    def __init__(self, tokenizer, prompt: str, every: int | Iterable[int] = 100, max_new_tokens: int = 60,
                 temperature: float = 0.8, seed: int = 0) -> None:
        self.tokenizer, self.prompt, self.due = tokenizer, prompt, _when(every)
        self.sampling: dict[str, Any] = {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed}
        self.samples: list[tuple[int, str]] = []

    def __call__(self, info: StepInfo) -> None:
        if self.due(info.step):
            if not isinstance(info.model, Llama):
                raise TypeError(f"Samples needs a Llama (a language model) to write, got {type(info.model).__name__}")
            self.samples.append((info.step, complete(info.model, self.tokenizer, self.prompt, **self.sampling)))


class AttentionSnapshots:
    """The attention weights of every layer and head on ``tokens`` (a list of ids) at chosen steps:
    ``.snapshots`` maps step -> a (layers, heads, n, n) tensor."""

    def __init__(self, tokens: list[int], every: int | Iterable[int] = 100) -> None:
        self.tokens, self.due = list(tokens), _when(every)
        self.snapshots: dict[int, torch.Tensor] = {}

    def __call__(self, info: StepInfo) -> None:
        if self.due(info.step):
            self.snapshots[info.step] = snapshot_attention(info.model, self.tokens)


def snapshot_attention(model, tokens: list[int]) -> torch.Tensor:
    """Attention weights (layers, heads, n, n) of ``model`` reading ``tokens``, on the CPU."""
    device = model.device
    with torch.no_grad(), model.capture_attention() as maps:
        model(torch.tensor([tokens], device=device))
    return torch.stack([m[0] for m in maps]).float().cpu()


class LossPlot:
    """A loss chart that redraws itself in the notebook every ``every`` steps: the training loss (light),
    its running mean, and the validation loss (dots). Outside a notebook it does nothing."""

    def __init__(self, every: int = 25, title: str = "training") -> None:
        self.due, self.title = _when(every), title
        self.handle = None
        self.figure: Figure | None = None

    def __call__(self, info: StepInfo) -> None:
        done = info.step == info.config.steps
        if not (self.due(info.step) or done or info.val_loss is not None):
            return
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        figure = self.draw(info)
        if self.handle is None:
            self.handle = display(figure, display_id=True)
        else:
            self.handle.update(figure)

    def draw(self, info: StepInfo) -> Figure:
        """The chart for the history so far (a matplotlib Figure, reused between redraws)."""
        from matplotlib.figure import Figure

        from . import loss_curves

        if self.figure is None:  # not a pyplot figure: shown through the display handle only
            self.figure = Figure(figsize=(7, 3.2))
            self.figure.add_subplot()
        ax = self.figure.axes[0]
        ax.clear()
        loss_curves(info.history, ax=ax, total_steps=info.config.steps, title=self.title,
                    vocab_size=info.model.config.vocab_size if isinstance(info.model, Llama) else None)
        return self.figure
