"""Safe file writing: a learner's checkpoint is either the old one or the new one, never half of each."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(target: str | Path, write: Callable[[str], object]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``target``, then move it into place.

    If ``write`` fails or is interrupted, ``target`` is untouched and the temporary file removed.
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; give it the usual permissions
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_tagged_json(path: str | Path, tag: str, payload: dict) -> Path:
    """Write ``payload`` as JSON with a ``format`` tag (and version 1), atomically."""
    text = json.dumps({"format": tag, "version": 1, **payload}, ensure_ascii=False)
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))


def read_tagged_json(path: str | Path, tag: str, what: str) -> dict:
    """Read a file written by :func:`write_tagged_json` with this ``tag``; ``what`` names it in errors."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not a {what} file (not JSON: {e})") from None
    if not isinstance(data, dict) or data.get("format") != tag:
        raise ValueError(f"{path} is not a {what} file (expected format {tag!r})")
    return data
