"""The package works as a wheel, installed outside the checkout: course model, tokenizer and notebooks inside it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("llama_course", "assets", "notebooks", "pyproject.toml", "README.md", "LICENSE", "LICENSE-CONTENT")


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    """A fresh virtual environment holding only the wheel (its dependencies come from the test's environment)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy, so building leaves nothing in the checkout
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            skip = shutil.ignore_patterns("__pycache__", "runs", ".ipynb_checkpoints", "my_llama.py")
            shutil.copytree(ROOT / name, source / name, ignore=skip)
        else:
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp / "dist"), str(source)], check=True)
    wheel = next((tmp / "dist").glob("llama_course-*.whl"))
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # torch and the other dependencies from this environment, added as a plain path: the editable
    # install's finder lives in a .pth file there, and plain paths do not run .pth files.
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    str(wheel)], check=True)
    return python, Path(site), tmp / "elsewhere"


def run_in(wheel_venv, *command: str) -> str:
    python, _, cwd = wheel_venv
    cwd.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LLAMA_COURSE_WORKSPACE")}
    result = subprocess.run([str(python), *command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_wheel_finds_its_own_course_model_tokenizer_and_notebooks(wheel_venv):
    _, site, _ = wheel_venv
    out = run_in(wheel_venv, "-c", "import json, llama_course\n"
                 "from llama_course.training.checkpoint import course_model\n"
                 "from llama_course.classroom.launch import course_notebooks\n"
                 "from llama_course.data.tokenizer import course_tokenizer\n"
                 "m = course_model()\n"
                 "print(json.dumps([llama_course.__file__, str(m.path), len(course_tokenizer()),"
                 " sorted(p.name for p in course_notebooks().glob('*.ipynb'))]))")
    package, model_path, vocab, notebooks = json.loads(out)
    assert Path(package).is_relative_to(site) and Path(model_path).is_relative_to(site), "not the checkout's copy"
    assert vocab == 4096
    assert notebooks == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


def test_the_wheel_holds_every_module_and_data_file_of_the_checkout(wheel_venv):
    """A folder missing from pyproject's package list would be missing from the wheel: compare them file by file."""
    _, site, _ = wheel_venv
    checkout = {p.relative_to(ROOT).as_posix() for p in (ROOT / "llama_course").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    installed = {p.relative_to(site).as_posix() for p in (site / "llama_course").rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
    assert checkout and checkout <= installed, sorted(checkout - installed)


def test_the_wheels_command_generates_from_an_unrelated_folder(wheel_venv):
    out = run_in(wheel_venv, "-m", "llama_course", "generate", "Once upon a time", "--max-new-tokens", "20",
                 "--temperature", "0", "--device", "cpu")
    assert out.startswith("Once upon a time") and len(out.split()) > 6
