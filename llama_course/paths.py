"""Where the course's own files are: the notebooks and ``assets/`` (tokenizer, course model).

In a checkout (and an editable install) they sit beside the package; a wheel carries copies inside
the package (``pyproject.toml`` maps both folders in). One function finds them either way.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent


def course_path(*parts: str) -> Path:
    """``course_path("assets", "tokenizer.model")``: the installed copy when there is one, else the checkout's.

    The path is returned even when the file is missing, so a caller can name it in its error message.
    """
    installed = PACKAGE.joinpath(*parts)
    return installed if installed.exists() else CHECKOUT.joinpath(*parts)
