"""Checkpoints: a folder of safetensors weights, a JSON config, the tokenizer, and optionally the
optimizer and training state needed to resume a run exactly.

A save writes a complete new folder beside the old one and then swaps them, so a crash or an
interrupt leaves either the old checkpoint or the new one, never a mixture. Loading never unpickles.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from .config import LlamaConfig
from .files import atomic_write
from .model import Llama
from .paths import course_path
from .tokenizer import CharTokenizer, Tokenizer

# The course model: the tiny config pretrained on the embedded stories (see the README for the command).
COURSE_MODEL = course_path("assets", "course-model")

MODEL_FILE, CONFIG_FILE, OPTIMIZER_FILE, STATE_FILE = (
    "model.safetensors", "config.json", "optimizer.safetensors", "trainer.json"
)
TOKENIZER_FILES = {"sentencepiece": "tokenizer.model", "char": "tokenizer.json"}


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns: the model, its tokenizer (if saved) and the training state."""

    model: Llama
    tokenizer: Tokenizer | CharTokenizer | None
    state: dict[str, Any]  # step, training config, history, metrics... ({} if none was saved)
    path: Path

    def optimizer_state(self) -> dict[str, Any] | None:
        """The optimizer's ``state_dict`` as saved (for :meth:`torch.optim.Optimizer.load_state_dict`), or None."""
        file = self.path / OPTIMIZER_FILE
        if not file.is_file() or "optimizer" not in self.state:
            return None
        tensors = load_file(file)
        saved = self.state["optimizer"]
        state: dict[int, dict[str, torch.Tensor]] = {}
        for name, tensor in tensors.items():
            index, key = name.split(".", 1)
            state.setdefault(int(index), {})[key] = tensor
        groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in saved["param_groups"]]
        return {"state": state, "param_groups": groups}


def save_checkpoint(
    path: str | Path,
    model: Llama,
    tokenizer: Tokenizer | CharTokenizer | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    state: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (and the tokenizer, optimizer and JSON-able ``state`` when given) to the folder ``path``."""
    if not isinstance(model, Llama):
        raise TypeError(f"save_checkpoint saves a llama_course Llama, got {type(model).__name__}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        _write_folder(tmp, model, tokenizer, optimizer, dict(state or {}))
        _swap_in(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _write_folder(folder: Path, model: Llama, tokenizer, optimizer, state: dict[str, Any]) -> None:
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_embeddings:
        del weights["output.weight"]  # the same tensor as the embeddings: stored once
    save_file(weights, folder / MODEL_FILE, metadata={"format": "pt"})
    (folder / CONFIG_FILE).write_text(model.config.to_json(), encoding="utf-8")
    if tokenizer is not None:
        kind = "char" if isinstance(tokenizer, CharTokenizer) else "sentencepiece"
        tokenizer.save(folder / TOKENIZER_FILES[kind])
        state["tokenizer"] = kind
    if optimizer is not None:
        saved = optimizer.state_dict()
        tensors = {
            f"{index}.{key}": value.detach().cpu().contiguous()
            for index, param_state in saved["state"].items()
            for key, value in param_state.items()
        }
        save_file(tensors, folder / OPTIMIZER_FILE)
        state["optimizer"] = {"param_groups": saved["param_groups"]}
    (folder / STATE_FILE).write_text(_state_json(state), encoding="utf-8")
    for file in folder.iterdir():
        os.chmod(file, 0o666 & ~_umask())  # safetensors makes its files private


def _swap_in(new: Path, target: Path) -> None:
    """Put the folder ``new`` at ``target``; an existing ``target`` is kept aside until the new one is in place."""
    old = target.with_name(f".{target.name}.old")
    if target.exists():
        if not (target / MODEL_FILE).is_file():
            raise FileExistsError(f"{target} exists and is not a checkpoint folder: not overwriting it")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def update_state(path: str | Path, **fields: Any) -> None:
    """Add or replace fields of a checkpoint's training state (its JSON file), atomically."""
    folder = find_checkpoint(path)
    file = folder / STATE_FILE
    state = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
    state.update(fields)
    atomic_write(file, lambda tmp: Path(tmp).write_text(_state_json(state), encoding="utf-8"))


def _state_json(state: dict[str, Any]) -> str:
    """One top-level field per line: readable, and the long history lists stay on one line each."""
    lines = ",\n".join(f" {json.dumps(key)}: {json.dumps(value)}" for key, value in state.items())
    return "{\n" + lines + "\n}\n"


def find_checkpoint(path: str | Path) -> Path:
    """The checkpoint folder at ``path``; if a save was cut off between its two renames, the previous one."""
    folder = Path(path)
    if (folder / MODEL_FILE).is_file():
        return folder
    old = folder.with_name(f".{folder.name}.old")
    if not folder.exists() and (old / MODEL_FILE).is_file():
        return old
    if folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a checkpoint: it has no {MODEL_FILE}")
    raise FileNotFoundError(f"no checkpoint at {folder}")


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> Checkpoint:
    """Read a folder written by :func:`save_checkpoint`; the model comes back in eval mode on ``device``."""
    folder = find_checkpoint(path)
    config = LlamaConfig.from_json(folder / CONFIG_FILE)
    weights = load_file(folder / MODEL_FILE, device=str(device))
    with torch.device("meta"):
        model = Llama(config)  # weights come from the file: skip the random init
    if config.tie_embeddings:
        weights["output.weight"] = weights["tok_embeddings.weight"]
    model.load_state_dict(weights, strict=True, assign=True)
    if config.tie_embeddings:
        model.output.weight = model.tok_embeddings.weight
    model.init_rope(device)
    state_file = folder / STATE_FILE
    state = json.loads(state_file.read_text(encoding="utf-8")) if state_file.is_file() else {}
    tokenizer = None
    kind = state.get("tokenizer")
    if kind == "sentencepiece":
        tokenizer = Tokenizer.load(folder / TOKENIZER_FILES[kind])
    elif kind == "char":
        tokenizer = CharTokenizer.load(folder / TOKENIZER_FILES[kind])
    return Checkpoint(model=model.eval(), tokenizer=tokenizer, state=state, path=folder)


def course_model(device: torch.device | str = "cpu") -> Checkpoint:
    """The pretrained course model shipped in ``assets/course-model`` (the start of notebooks 06 and 07)."""
    if not (COURSE_MODEL / MODEL_FILE).is_file():
        raise FileNotFoundError(
            f"the course model is missing (looked for {COURSE_MODEL}); "
            "make it again with the command in the README (section 'The course model')"
        )
    return load_checkpoint(COURSE_MODEL, device)
