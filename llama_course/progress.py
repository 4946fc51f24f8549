"""Progress bars (``tqdm.auto``) that a saved notebook shows as they ended.

In a notebook tqdm draws a widget and, for viewers that cannot run widgets (GitHub, nbviewer, a notebook
opened without its kernel), a text copy of the bar. tqdm sends that copy once, when the bar appears, so a
saved notebook shows ``0/1200 [00:00<?, ?it/s]`` above a finished run. The notebook bar here is shown with
a display id and replaced by its final state when it closes; outside a notebook it is plain ``tqdm.auto``.
"""

from __future__ import annotations

import functools
from typing import Any

from tqdm.auto import tqdm


def progress_bar(*args: Any, **kwargs: Any) -> tqdm:
    """``tqdm.auto.tqdm(*args, **kwargs)``; in a notebook, a bar whose saved output is its final state."""
    return _bar_class()(*args, **kwargs)


@functools.cache
def _bar_class() -> type[tqdm]:
    try:
        from tqdm.notebook import tqdm as notebook_tqdm
    except ImportError:  # no IPython or ipywidgets: tqdm.auto is the terminal bar
        return tqdm
    if not issubclass(tqdm, notebook_tqdm):
        return tqdm

    class NotebookBar(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            shown = kwargs.pop("display", True)
            super().__init__(*args, display=False, **kwargs)
            self._handle = None
            if shown and not self.disable and self.delay <= 0:
                from IPython.display import display

                self._handle = display(self.container, display_id=True)
                self.displayed = True

        def close(self) -> None:
            super().close()
            handle, self._handle = getattr(self, "_handle", None), None
            if handle is not None and self.leave:
                handle.update(self.container)  # the widget again, with the text of the finished bar

    return NotebookBar
