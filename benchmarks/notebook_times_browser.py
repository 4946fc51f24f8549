"""How long each notebook takes the way a learner runs it: JupyterLab open in a browser, Run All.

Starts JupyterLab on 127.0.0.1 over copies of the notebooks in a temporary folder (the committed ones are
not touched), opens each in headless Chromium (Debian's `chromium`, driven by Playwright), runs all cells
and waits until the last one has finished; the widgets, live charts and progress bars render as they
would on a learner's screen. The time includes opening the notebook and starting its kernel.
Usage: python benchmarks/notebook_times_browser.py [NAME ...] [--fast]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from llama_course.classroom.launch import lab_launch

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TOKEN = "llama-course-benchmark"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
# Done when no cell is queued or running ("[*]") and the last code cell has an execution count.
ALL_DONE = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => !p.textContent.includes('*'))
      && /\\d/.test(prompts[prompts.length - 1].textContent);
}"""


def start_lab(folder: Path, port: int, env: dict) -> subprocess.Popen:
    """JupyterLab on 127.0.0.1 with the app exposed to the page, so the benchmark can call 'Run All'."""
    started = lab_launch(folder, ["--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                                  f"--IdentityProvider.token={TOKEN}", "--LabApp.expose_app_in_browser=True",
                                  "--ServerApp.log_level=WARN"])  # as `llama-course` starts it, plus the app handle
    server = subprocess.Popen(started.command, cwd=folder, env={**started.env, **env}, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={TOKEN}", timeout=2)
            return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("JupyterLab did not start") from None
            time.sleep(0.5)


def run_all_seconds(page, url: str, name: str) -> float:
    """Open the notebook, Run All, wait for the last cell; seconds from opening to the end."""
    start = time.perf_counter()
    page.goto(f"{url}/lab/tree/{name}?reset&token={TOKEN}")  # reset: no notebook restored from the last run
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="attached", timeout=120_000)
    page.wait_for_function("name => window.jupyterapp?.shell.currentWidget?.context?.path === name", arg=name,
                           timeout=120_000)
    page.wait_for_function(  # the kernel is up
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle'",
        timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    # The command's promise settles when the last cell has run; the check below confirms it on the page.
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_DONE, timeout=3_600_000, polling=1000)
    seconds = time.perf_counter() - start
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']", has_text="Error")
    if errors.count():
        print(f"  {name}: an error in the output: {errors.first.inner_text()[:300]}", file=sys.stderr)
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    page.evaluate("() => window.jupyterapp.shell.currentWidget.dispose()")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names or prefixes (default: all)")
    parser.add_argument("--fast", action="store_true", help="fast mode (LLAMA_COURSE_FAST=1)")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs the system chromium (apt-get install chromium)")
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.names:
        paths = [p for p in paths if any(p.stem.startswith(n) for n in args.names)]
    env = {k: v for k, v in os.environ.items() if k != "LLAMA_COURSE_FAST"}
    if args.fast:
        env["LLAMA_COURSE_FAST"] = "1"
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        for path in paths:
            shutil.copy(path, Path(tmp) / path.name)
        server = start_lab(Path(tmp), port, env)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                print(f"| notebook | in JupyterLab + browser, {'fast' if args.fast else 'full'} mode |")
                print("|---|---|")
                total = 0.0
                for path in paths:
                    seconds = run_all_seconds(page, f"http://127.0.0.1:{port}", path.name)
                    total += seconds
                    print(f"| `{path.stem}` | {seconds:.0f} s |", flush=True)
                print(f"| all | {total / 60:.1f} min |")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
