"""Opening the course: the learner's workspace, JupyterLab as root and with no browser, a real launch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from llama_course import cli
from llama_course.classroom import launch

ROOT = Path(__file__).resolve().parents[1]


def test_the_workspace_gets_copies_and_the_learners_work_is_never_replaced(tmp_path):
    workspace = tmp_path / "work"
    copied = launch.prepare_workspace(workspace)
    course = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert copied == course and sorted(p.name for p in workspace.glob("*.ipynb")) == course
    mine = workspace / "02_attention.ipynb"
    mine.write_text("my own work")
    (workspace / "05_pretraining.ipynb").unlink()
    assert launch.prepare_workspace(workspace) == ["05_pretraining.ipynb"], "only missing notebooks are copied"
    assert mine.read_text() == "my own work"


def test_the_workspace_is_never_the_course_folder_or_a_file(tmp_path):
    with pytest.raises(ValueError, match="course's own notebooks"):
        launch.prepare_workspace(ROOT / "notebooks")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        launch.prepare_workspace(tmp_path / "file")


def test_the_default_workspace_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(launch.WORKSPACE_ENV, str(tmp_path / "w"))
    assert launch.default_workspace() == tmp_path / "w"
    monkeypatch.delenv(launch.WORKSPACE_ENV)
    assert launch.default_workspace() == Path.home() / "llama-course-workspace"


def test_root_gets_allow_root_once_with_a_notice(monkeypatch, tmp_path):
    monkeypatch.setattr(launch, "browser_available", lambda: True)
    monkeypatch.setattr(launch, "running_as_root", lambda: True)
    started = launch.lab_launch(tmp_path, [])
    assert started.command.count("--allow-root") == 1 and "root" in started.notices[0]
    assert launch.lab_launch(tmp_path, ["--allow-root"]).command.count("--allow-root") == 1
    monkeypatch.setattr(launch, "running_as_root", lambda: False)
    assert "--allow-root" not in launch.lab_launch(tmp_path, []).command


def test_with_no_browser_the_address_to_open_is_known(monkeypatch, tmp_path):
    monkeypatch.setattr(launch, "running_as_root", lambda: False)
    monkeypatch.delenv("JUPYTER_TOKEN", raising=False)
    (tmp_path / launch.FIRST_NOTEBOOK).write_text("{}")
    monkeypatch.setattr(launch, "browser_available", lambda: True)
    with_browser = launch.lab_launch(tmp_path, [])
    assert with_browser.url is None and "--no-browser" not in with_browser.command
    assert str(launch.JUPYTER_CONFIG) in with_browser.env["JUPYTER_CONFIG_PATH"], "no news pop-up"
    monkeypatch.setattr(launch, "browser_available", lambda: False)
    headless = launch.lab_launch(tmp_path, [])
    token = headless.env["JUPYTER_TOKEN"]
    assert "--no-browser" in headless.command and token not in " ".join(headless.command), "the token is not in argv"
    assert headless.url.endswith(f"/lab/tree/{launch.FIRST_NOTEBOOK}?token={token}")
    chosen = launch.lab_launch(tmp_path, ["--port", "9999", "--ip=0.0.0.0"])
    assert chosen.url.startswith("http://localhost:9999/")
    asked = launch.lab_launch(tmp_path, ["--no-browser", "--IdentityProvider.token=abc"])
    assert asked.url is None, "a token of the learner's own: JupyterLab prints its own address"


def test_help_shows_the_options_passed_to_jupyterlab(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "--no-browser" in out and "--allow-root" in out and "--port" in out


def test_info_reports_only_what_the_course_needs(capsys):
    cli.main(["info"])
    out = capsys.readouterr().out
    assert "nbval" not in out and "jupyterlab" in out and "missing" not in out


@pytest.mark.slow
def test_llama_course_opens_the_course_in_a_real_jupyterlab(tmp_path):
    """The README's command, end to end: the workspace is made and served, and the printed address works."""
    env = {**os.environ, "LLAMA_COURSE_WORKSPACE": str(tmp_path / "work"), "BROWSER": "", "DISPLAY": ""}
    env.pop("JUPYTER_TOKEN", None)
    server = subprocess.Popen([sys.executable, "-m", "llama_course", "--no-browser"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        lines = []
        while not lines or "token=" not in lines[-1]:  # the notices, then the address
            lines.append(server.stdout.readline())
            assert lines[-1] or server.poll() is None, f"llama-course stopped: {lines}"
        url = lines[-1].strip()
        deadline = time.monotonic() + 60
        while True:
            try:
                page = urllib.request.urlopen(url, timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, f"JupyterLab did not start: {lines}"
                time.sleep(0.5)
        assert page.status == 200
        assert (tmp_path / "work" / launch.FIRST_NOTEBOOK).is_file()
    finally:  # llama-course and the JupyterLab it started, as Ctrl-C in a terminal would stop both
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
