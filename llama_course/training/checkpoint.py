"""Checkpoints: a folder of safetensors weights, a JSON config, the tokenizer, and optionally the
optimizer and training state needed to resume a run exactly.

A save writes a complete new folder beside the old one and then swaps them, so a crash or an
interrupt leaves either the old checkpoint or the new one, never a mixture. Loading never unpickles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import LlamaConfig
from ..data.tokenizer import CharTokenizer, Tokenizer
from ..files import (
    CourseError,
    atomic_write,
    check_replaceable,
    old_copy,
    read_json,
    read_safetensors,
    replace_folder,
    safetensors_shapes,
    write_safetensors,
)
from ..model import Llama, weight_shapes
from ..paths import course_path

# The course model: the tiny config pretrained on the embedded stories (see the README for the command).
COURSE_MODEL = course_path("assets", "course-model")

MODEL_FILE, CONFIG_FILE, OPTIMIZER_FILE, STATE_FILE = (
    "model.safetensors", "config.json", "optimizer.safetensors", "trainer.json"
)
TOKENIZER_FILES = {"sentencepiece": "tokenizer.model", "char": "tokenizer.json"}
CHECKPOINT_FILES = frozenset({MODEL_FILE, CONFIG_FILE, OPTIMIZER_FILE, STATE_FILE, *TOKENIZER_FILES.values()})


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
        groups = self.state["optimizer"].get("param_groups") if isinstance(self.state["optimizer"], dict) else None
        if not isinstance(groups, list) or not all(isinstance(g, dict) and "params" in g for g in groups):
            raise CourseError(f"{self.path / STATE_FILE}: 'optimizer' should hold the optimizer's param_groups")
        state: dict[int, dict[str, torch.Tensor]] = {}
        for name, tensor in read_safetensors(file).items():
            index, _, key = name.partition(".")
            if not index.isdigit() or not key:
                raise CourseError(f"{file} is not an optimizer file written by the course (tensor {name!r})")
            state.setdefault(int(index), {})[key] = tensor
        groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in groups]
        return {"state": state, "param_groups": groups}


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    tokenizer: Tokenizer | CharTokenizer | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    state: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (and the tokenizer, optimizer and JSON-able ``state`` when given) to the folder ``path``.
    The model must be a :class:`Llama`: any other module is a TypeError.

    Only a folder that is absent, empty or an earlier checkpoint is replaced (see :func:`check_checkpoint_out`).
    """
    if not isinstance(model, Llama):
        raise TypeError(f"save_checkpoint saves a llama_course Llama, got {type(model).__name__}")
    target = check_checkpoint_out(path)
    return replace_folder(target, lambda tmp: write_checkpoint_files(tmp, model, tokenizer, optimizer, state))


def check_checkpoint_out(path: str | Path) -> Path:
    """Refuse a checkpoint folder that holds anything but an earlier checkpoint (a Hugging Face folder, a
    fine-tuning run, a learner's own files), or that cannot be written: call it before training starts."""
    return check_replaceable(path, CHECKPOINT_FILES, STATE_FILE, "course checkpoint")


def write_checkpoint_files(folder: Path, model: Llama, tokenizer=None, optimizer=None,
                           state: dict[str, Any] | None = None) -> None:
    """The files of a checkpoint, written into the (new, empty) ``folder``."""
    state = dict(state or {})
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_embeddings:
        del weights["output.weight"]  # the same tensor as the embeddings: stored once
    write_safetensors(weights, folder / MODEL_FILE, metadata={"format": "pt"})
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
        write_safetensors(tensors, folder / OPTIMIZER_FILE)
        state["optimizer"] = {"param_groups": saved["param_groups"]}
    (folder / STATE_FILE).write_text(_state_json(state), encoding="utf-8")


def update_state(path: str | Path, **fields: Any) -> None:
    """Add or replace fields of a checkpoint's training state (its JSON file), atomically."""
    folder = find_checkpoint(path)
    file = folder / STATE_FILE
    state = read_state(folder)
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
    old = old_copy(folder)
    if not folder.exists() and (old / MODEL_FILE).is_file():
        return old
    if folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a checkpoint: it has no {MODEL_FILE}")
    raise FileNotFoundError(f"no checkpoint at {folder}")


def has_checkpoint(path: str | Path) -> bool:
    """Whether :func:`find_checkpoint` finds a checkpoint at ``path``."""
    try:
        find_checkpoint(path)
    except FileNotFoundError:
        return False
    return True


def read_state(folder: Path) -> dict[str, Any]:
    """The training state saved in ``folder`` ({} if none); anything but a JSON object is a clear error."""
    file = folder / STATE_FILE
    state = read_json(file, "training state") if file.is_file() else {}
    if not isinstance(state, dict):
        raise CourseError(f"{file} should hold a JSON object of training state, got {type(state).__name__}")
    return state


def read_config(file: Path) -> LlamaConfig:
    """The model config in ``file``; a missing, broken or impossible one is a clear error naming the file."""
    if not file.is_file():
        raise FileNotFoundError(f"{file} is missing: a checkpoint needs its model config")
    try:
        return LlamaConfig.from_dict(read_json(file, "model config"))
    except CourseError:
        raise
    except (TypeError, ValueError) as e:
        raise CourseError(f"{file}: {e}") from None


def check_weights(file: Path, config: LlamaConfig) -> None:
    """Compare the tensors in the weight ``file`` (its header only) with the shapes ``config`` implies."""
    found = safetensors_shapes(file)
    expected = weight_shapes(config)
    if len(found) != len(expected):
        raise CourseError(f"{file} holds {len(found)} tensors but its config describes a model with "
                          f"{len(expected)}: the weights and the config belong to different models")
    for name, shape in expected.items():
        if found.get(name) != shape:
            got = "missing" if name not in found else f"{found[name]}"
            raise CourseError(f"{file} does not fit its config: {name} is {got} in the file but {shape} in the config")


def _check_finite(file: Path, weights: dict[str, torch.Tensor]) -> None:
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CourseError(f"{file} holds NaN or infinite values in {name}: the weights are broken "
                              "(a training run that diverged?); use an earlier checkpoint")


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> Checkpoint:
    """Read a folder written by :func:`save_checkpoint`; the model comes back in eval mode on ``device``.

    The config and the weight file's shapes are checked before anything is allocated."""
    folder = find_checkpoint(path)
    config = read_config(folder / CONFIG_FILE)
    check_weights(folder / MODEL_FILE, config)
    weights = read_safetensors(folder / MODEL_FILE, device=str(device))
    _check_finite(folder / MODEL_FILE, weights)
    with torch.device("meta"):
        model = Llama(config)  # weights come from the file: skip the random init
    if config.tie_embeddings:
        weights["output.weight"] = weights["tok_embeddings.weight"]
    model.load_state_dict(weights, strict=True, assign=True)
    if config.tie_embeddings:
        model.output.weight = model.tok_embeddings.weight
    model.init_rope(device)
    state = read_state(folder)
    return Checkpoint(model=model.eval(), tokenizer=_read_tokenizer(folder, state), state=state, path=folder)


def _read_tokenizer(folder: Path, state: dict[str, Any]) -> Tokenizer | CharTokenizer | None:
    kind = state.get("tokenizer")
    if kind is None:
        return None
    if kind not in TOKENIZER_FILES:
        raise CourseError(f"{folder / STATE_FILE}: 'tokenizer' must be one of {sorted(TOKENIZER_FILES)}, got {kind!r}")
    reader = Tokenizer if kind == "sentencepiece" else CharTokenizer
    return reader.load(folder / TOKENIZER_FILES[kind])


def course_model(device: torch.device | str = "cpu") -> Checkpoint:
    """The pretrained course model shipped in ``assets/course-model`` (the start of notebooks 06 and 07)."""
    if not (COURSE_MODEL / MODEL_FILE).is_file():
        raise FileNotFoundError(
            f"the course model is missing (looked for {COURSE_MODEL}); "
            "make it again with the command in the README (section 'The course model')"
        )
    return load_checkpoint(COURSE_MODEL, device)
