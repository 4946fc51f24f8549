import pytest
import torch

from llama_course import cli
from llama_course.classroom import course


def test_setup_prints_one_line_and_seeds(capsys, monkeypatch):
    monkeypatch.setenv("LLAMA_COURSE_FAST", "1")
    monkeypatch.setenv("LLAMA_COURSE_DEVICE", "cpu")
    env = course.setup(seed=3)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "device cpu" in lines[0] and "fast mode on" in lines[0]
    assert env.fast and env.device == torch.device("cpu") and env.seed == 3
    assert env.pick(full=1000, fast=10) == 10
    first = torch.rand(3)
    course.setup(seed=3, quiet=True)
    torch.testing.assert_close(torch.rand(3), first)


@pytest.mark.parametrize("value, fast", [("", False), ("0", False), ("1", True), ("true", True), ("YES", True)])
def test_fast_mode_values(monkeypatch, value, fast):
    monkeypatch.setenv("LLAMA_COURSE_FAST", value)
    assert course.fast_mode() is fast


def test_device_override_errors_when_unavailable(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.setenv("LLAMA_COURSE_DEVICE", "cuda")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        course.default_device()


def test_cli_params_table(capsys):
    assert cli.main(["params", "tiny", "llama2-7b"]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and "1.79M" in out
    assert "llama2-7b" in out and "6.74B" in out and "13.48GB" in out


def test_cli_rejects_unknown_presets_and_an_empty_notebooks_folder(tmp_path):
    with pytest.raises(SystemExit, match="unknown preset"):
        cli.main(["params", "llama9"])
    with pytest.raises(SystemExit, match="no notebooks in"):
        cli.main(["--dir", str(tmp_path)])
