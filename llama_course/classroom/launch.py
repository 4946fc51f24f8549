"""Opening the course: the learner's own copy of the notebooks, and JupyterLab started the way a course needs.

Running a notebook saves it, so the learner works in a workspace of copies and the course's own
notebooks stay as published. JupyterLab refuses to run as root (Docker, WSL, cloud machines) and,
with no browser, only logs a URL: both are handled here with a one-line notice.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sys
import webbrowser
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import course_path

WORKSPACE_ENV = "LLAMA_COURSE_WORKSPACE"
FIRST_NOTEBOOK = "00_welcome.ipynb"
# A Jupyter config folder added for the course's launch only: it turns off JupyterLab's "announcements"
# plugin, whose "get notified about official Jupyter news?" pop-up would greet a learner on the first lesson.
JUPYTER_CONFIG = Path(__file__).resolve().parent / "jupyter_config"


def course_notebooks() -> Path:
    """The course's own notebooks: the copies inside an installed package, else the checkout's folder."""
    folder = course_path("notebooks")
    if not any(folder.glob("*.ipynb")):
        raise FileNotFoundError(f"the course notebooks are missing (looked in {folder})")
    return folder


def default_workspace() -> Path:
    """``$LLAMA_COURSE_WORKSPACE``, else ``~/llama-course-workspace``."""
    return Path(os.environ.get(WORKSPACE_ENV) or Path.home() / "llama-course-workspace").expanduser()


def prepare_workspace(workspace: Path, source: Path | None = None) -> list[str]:
    """Copy into ``workspace`` each course notebook it does not have yet; return the names copied.

    A notebook already there is the learner's and is never replaced, even if the course's copy changed.
    """
    source = source or course_notebooks()
    if workspace.resolve() == source.resolve():
        raise ValueError(f"the workspace {workspace} is the course's own notebooks folder; choose another")
    if workspace.exists() and not workspace.is_dir():
        raise NotADirectoryError(f"the workspace {workspace} is a file, not a folder")
    workspace.mkdir(parents=True, exist_ok=True)
    copied = []
    for notebook in sorted(source.glob("*.ipynb")):
        target = workspace / notebook.name
        if not target.exists():
            shutil.copyfile(notebook, target)
            copied.append(notebook.name)
    return copied


def running_as_root() -> bool:
    """True for the root account on Linux/macOS (Windows has no such account)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def browser_available() -> bool:
    """Whether Python (and so JupyterLab) can find a web browser to open."""
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def free_port(start: int = 8888, tries: int = 50) -> int:
    """The first port from ``start`` that nothing on this machine listens on (JupyterLab's own habit)."""
    for port in range(start, start + tries):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port between {start} and {start + tries - 1}: pass --port N")


def _option_value(args: list[str], *names: str) -> str | None:
    """The value of ``--name=value`` or ``--name value`` among ``args``, for any of ``names``."""
    for i, arg in enumerate(args):
        for name in names:
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
            if arg == name and i + 1 < len(args):
                return args[i + 1]
    return None


@dataclass
class LabLaunch:
    """The ``jupyter lab`` command, its environment, the address to open and the notices to print."""

    command: list[str]
    env: dict[str, str]
    url: str | None
    notices: list[str] = field(default_factory=list)


def lab_launch(folder: Path, jupyter_args: list[str]) -> LabLaunch:
    """The JupyterLab command for ``folder``, opening the first notebook; ``jupyter_args`` are passed through.

    Adds ``--allow-root`` for root; when no browser can be found (or ``--no-browser`` is given) it
    chooses the port and token itself so it can print the address to open.
    """
    args = list(jupyter_args)
    notices = []
    if running_as_root() and "--allow-root" not in args:
        args.append("--allow-root")
        notices.append("running as root (as in Docker, WSL or a cloud machine): passing --allow-root to JupyterLab")
    env = dict(os.environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(JUPYTER_CONFIG), env.get("JUPYTER_CONFIG_PATH")]))
    url = None
    no_browser = "--no-browser" in args
    if not no_browser and not browser_available():
        args.append("--no-browser")
        no_browser = True
    if no_browser and not any("token" in arg for arg in args) and "JUPYTER_TOKEN" not in env:
        port = _option_value(args, "--port", "--ServerApp.port")
        if port is None:
            port = str(free_port())
            args += [f"--port={port}", "--ServerApp.port_retries=0"]
        env["JUPYTER_TOKEN"] = secrets.token_hex(16)  # the environment, not argv: other users can read argv
        host = _option_value(args, "--ip", "--ServerApp.ip") or "localhost"
        host = "localhost" if host in ("0.0.0.0", "::", "*") else host
        page = f"lab/tree/{FIRST_NOTEBOOK}" if (folder / FIRST_NOTEBOOK).exists() else "lab"
        url = f"http://{host}:{port}/{page}?token={env['JUPYTER_TOKEN']}"
        if not any("log_level" in arg or arg == "--debug" for arg in args):
            args.append("--ServerApp.log_level=WARN")  # the address printed above replaces the server's log
    command = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={folder}", *args]
    if (folder / FIRST_NOTEBOOK).exists():
        command.insert(4, FIRST_NOTEBOOK)
    return LabLaunch(command=command, env=env, url=url, notices=notices)
