"""Safe file writing and careful reading: a learner's checkpoint is either the old one or the new one, never half
of each; a folder the course did not write is never replaced; a broken file is reported by its name."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file


class CourseError(ValueError):
    """A problem with the learner's input or files, with a message that names the file or option and says
    what was expected. A ``ValueError``, so code that catches those keeps working; the command line prints
    it as one line."""


class SaveError(OSError):
    """A save that could not be written (a full disk...), named by what was being saved; the old file is kept."""


@contextlib.contextmanager
def _saving(target: Path) -> Iterator[None]:
    """Report an ``OSError`` while writing ``target`` as one :class:`SaveError` naming it (once, when nested)."""
    try:
        yield
    except SaveError:
        raise
    except OSError as e:
        reason = e.strerror or str(e)
        raise SaveError(f"could not save {target}: {reason}; is the disk full? (the old one is kept)") from None


def atomic_write(target: str | Path, write: Callable[[str], object]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``target``, then move it into place.

    If ``write`` fails or is interrupted, ``target`` is untouched and the temporary file removed.
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; give it the usual permissions
    try:
        with _saving(target):
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


def read_json(path: str | Path, what: str = "JSON") -> Any:
    """The parsed JSON in ``path``; a broken file is a :class:`CourseError` that names it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CourseError(f"{path} is not a valid {what} file ({e})") from None


@contextlib.contextmanager
def _reading_safetensors(path: str | Path) -> Iterator[None]:
    """Report a truncated or foreign safetensors file as one :class:`CourseError` naming it."""
    try:
        yield
    except SafetensorError as e:
        raise CourseError(f"{path} is not a readable safetensors file ({e}); it may be cut short or damaged") from None


def read_safetensors(path: str | Path, device: str = "cpu") -> dict[str, torch.Tensor]:
    """Every tensor in a safetensors file; a truncated or foreign file is a :class:`CourseError` that names it."""
    with _reading_safetensors(path), safe_open(path, "pt", device=device) as f:
        return {key: f.get_tensor(key) for key in f.keys()}


def write_safetensors(tensors: dict[str, torch.Tensor], path: str | Path,
                      metadata: dict[str, str] | None = None) -> None:
    """``safetensors.torch.save_file``, with a failed write (a full disk...) reported as an ``OSError``."""
    try:
        save_file(tensors, path, metadata=metadata)
    except SafetensorError as e:  # "Error while serializing: I/O error: File too large (os error 27)"
        raise OSError(str(e).rsplit(": ", 1)[-1]) from None


def safetensors_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """The name and shape of every tensor in a safetensors file, read from its header only (nothing allocated)."""
    with _reading_safetensors(path), safe_open(path, "pt") as f:
        return {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}


# ---------------------------------------------------------------------------------------------------------------------
# Folders written as a whole: a checkpoint, a fine-tuning run.


def check_replaceable(folder: str | Path, files: Collection[str], marker: str, what: str) -> Path:
    """Refuse, before any work is done, to write the folder ``folder`` unless that is safe: it does not exist,
    is empty, or holds only ``files`` (with ``marker`` among them): an earlier save of the same kind, which
    the course wrote and may replace. Its parent must be writable. ``what`` names the kind in messages."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CourseError(f"{folder} is a file, not a folder: choose another folder for the {what}")
    entries = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    foreign = sorted(name for name in entries if not _written_by_us(name, files))
    if foreign:
        raise CourseError(f"{folder} holds files that are not part of a {what} ({', '.join(foreign[:5])}): "
                          "not writing there; choose another folder (nothing was changed)")
    if entries and marker not in entries:
        raise CourseError(f"{folder} is not a {what} (it has no {marker}): not writing there; choose another "
                          "folder (nothing was changed)")
    _check_writable(folder.parent)
    return folder


def _written_by_us(name: str, files: Collection[str]) -> bool:
    """One of ``files``, or the temporary file an interrupted :func:`atomic_write` of one of them left."""
    return name in files or any(re.fullmatch(rf"\.{re.escape(f)}\.\w+\.tmp", name) for f in files)


def _check_writable(folder: Path) -> None:
    """Make and remove a temporary folder in ``folder`` (or its nearest existing parent): the one sure test."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise CourseError(f"cannot write in {folder}: {existing} is a file, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".llama-course-probe."))
    except OSError as e:
        raise CourseError(f"cannot write in {existing} ({e.strerror}): choose a folder you can write to") from None


def replace_folder(target: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a new temporary folder beside ``target``, then swap it in for ``target``.

    A crash or an interrupt leaves either the old folder or the new one, never a mixture; the hidden
    temporary folders an earlier killed save left behind are removed first.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        with _saving(target):
            write(tmp)
        for file in tmp.iterdir():
            os.chmod(file, 0o666 & ~_umask())  # mkdtemp and safetensors make things private
        os.chmod(tmp, 0o777 & ~_umask())
        _swap_in(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def old_copy(target: Path) -> Path:
    """Where :func:`replace_folder` keeps the previous folder while the new one moves in."""
    return target.with_name(f".{target.name}.old")


def _swap_in(new: Path, target: Path) -> None:
    old = old_copy(target)
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def remove_stale_temps(target: str | Path) -> list[Path]:
    """Remove the temporary folders (``.<name>.XXXXXXXX.tmp``) that killed saves of ``target`` left beside it."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    stale = [p for p in target.parent.glob(f".{glob.escape(target.name)}.{'?' * 8}.tmp") if p.is_dir()]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale

