"""Checkpoints: safetensors + JSON, round trips, atomic replacement, no pickles."""

import json
import os

import pytest
import torch

from llama_course.config import LlamaConfig
from llama_course.data.tokenizer import CharTokenizer, course_tokenizer
from llama_course.files import CourseError
from llama_course.model import Llama
from llama_course.training.checkpoint import find_checkpoint, load_checkpoint, save_checkpoint


def small(**changes):
    torch.manual_seed(0)
    fields = {"vocab_size": 64, "dim": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "max_seq_len": 32}
    return Llama(LlamaConfig(**{**fields, **changes}))


@pytest.mark.parametrize("tied", [False, True])
def test_round_trip_gives_the_same_model(tmp_path, tied):
    model = small(tie_embeddings=tied)
    tokenizer = CharTokenizer.from_text("abcdefg")
    save_checkpoint(tmp_path / "ckpt", model, tokenizer, state={"note": "hello"})
    loaded = load_checkpoint(tmp_path / "ckpt")
    assert loaded.model.config == model.config
    for (name, a), b in zip(model.state_dict().items(), loaded.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    if tied:
        assert loaded.model.output.weight is loaded.model.tok_embeddings.weight
    tokens = torch.tensor([[1, 5, 9, 2]])
    assert torch.equal(model(tokens), loaded.model(tokens))
    assert loaded.tokenizer.chars == tokenizer.chars
    assert loaded.state["note"] == "hello"
    assert not loaded.model.training


def test_files_are_safetensors_and_json_with_normal_permissions(tmp_path):
    save_checkpoint(tmp_path / "ckpt", small(), course_tokenizer())
    names = sorted(os.listdir(tmp_path / "ckpt"))
    assert names == ["config.json", "model.safetensors", "tokenizer.model", "trainer.json"]
    assert LlamaConfig.from_json(tmp_path / "ckpt" / "config.json") == small().config
    assert json.loads((tmp_path / "ckpt" / "trainer.json").read_text())["tokenizer"] == "sentencepiece"
    umask = os.umask(0)
    os.umask(umask)
    for name in names:
        assert os.stat(tmp_path / "ckpt" / name).st_mode & 0o777 == 0o666 & ~umask, name


def test_optimizer_state_round_trips(tmp_path):
    model = small()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95))
    _, loss = model(torch.tensor([[1, 2, 3]]), torch.tensor([[2, 3, 4]]))
    loss.backward()
    optimizer.step()
    save_checkpoint(tmp_path / "ckpt", model, optimizer=optimizer)
    saved = load_checkpoint(tmp_path / "ckpt").optimizer_state()
    fresh = torch.optim.AdamW(model.parameters(), lr=1e-3)
    fresh.load_state_dict(saved)
    assert len(fresh.state) == len(optimizer.state) == len(list(model.parameters()))
    for param in model.parameters():
        a, b = optimizer.state[param], fresh.state[param]
        assert all(torch.equal(a[k], b[k]) for k in ("step", "exp_avg", "exp_avg_sq"))
    assert fresh.param_groups[0]["betas"] == (0.9, 0.95)


def test_a_failed_save_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    first = small()
    save_checkpoint(path, first)
    import llama_course.training.checkpoint as checkpoint_module

    def broken(*args, **kwargs):
        raise KeyboardInterrupt  # as if the learner pressed stop in the middle of a save

    monkeypatch.setattr(checkpoint_module, "write_safetensors", broken)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, small(dim=64))
    assert load_checkpoint(path).model.config == first.config
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temporary folder left behind


def test_a_save_cut_between_renames_is_still_found(tmp_path):
    save_checkpoint(tmp_path / "ckpt", small())
    os.replace(tmp_path / "ckpt", tmp_path / ".ckpt.old")  # the moment between the two renames
    assert find_checkpoint(tmp_path / "ckpt") == tmp_path / ".ckpt.old"
    assert load_checkpoint(tmp_path / "ckpt").model.config == small().config


def test_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    with pytest.raises(FileNotFoundError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "notes")
    with pytest.raises(CourseError, match="not part of a course checkpoint"):
        save_checkpoint(tmp_path / "notes", small())
    assert (tmp_path / "notes" / "todo.txt").read_text() == "mine"
    with pytest.raises(TypeError, match="Llama"):
        save_checkpoint(tmp_path / "x", torch.nn.Linear(2, 2))
