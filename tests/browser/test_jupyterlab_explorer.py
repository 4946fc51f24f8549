"""A real browser: JupyterLab on 127.0.0.1, headless Chromium, the attention explorer rendered and driven.

Needs Debian's `chromium` and Playwright's Python package (pointed at the system browser; nothing
downloads a browser). `.ci/run` installs both; elsewhere the test is skipped when either is missing.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request

import nbformat
import pytest

from llama_course.classroom.launch import lab_launch

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs the system chromium (apt-get install chromium)")

TOKEN = "llama-course-test"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
EXPLORER_CELL = """\
import torch
from llama_course.config import LlamaConfig
from llama_course.model import Llama
from llama_course.data.tokenizer import course_tokenizer
from llama_course.viz.widgets import AttentionExplorer

torch.manual_seed(0)
model = Llama(LlamaConfig.preset("tiny")).eval()
explorer = AttentionExplorer(model, course_tokenizer(), text="Nora found her red ball. 小猫找到了球。")
explorer"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a folder with the explorer notebook."""
    root = tmp_path_factory.mktemp("lab")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(EXPLORER_CELL)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / "explorer.ipynb")
    port = free_port()
    log = open(root / "lab.log", "w")  # noqa: SIM115 (closed below)
    started = lab_launch(root, ["--no-browser", "--allow-root", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                                f"--IdentityProvider.token={TOKEN}"])  # as `llama-course` starts it
    server = subprocess.Popen(started.command, env=started.env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"JupyterLab did not start:\n{(root / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def test_explorer_renders_and_changing_the_head_changes_the_picture(jupyterlab, tmp_path):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"{jupyterlab}/lab/tree/explorer.ipynb?token={TOKEN}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            image = None
            for _ in range(2):  # a key press that lands while JupyterLab is still settling is retried once
                page.locator(".jp-Cell .jp-InputArea-editor").first.click()
                page.keyboard.press("Shift+Enter")  # run the cell (queued until the kernel is ready)
                try:
                    image = page.wait_for_selector(".jp-OutputArea-output .widget-image", timeout=90_000)
                    break
                except playwright.TimeoutError:
                    page.keyboard.press("Escape")
            assert image is not None, "the explorer never rendered"
            page.wait_for_function("el => el.naturalWidth > 0", arg=image, timeout=30_000)
            before, src_before = image.screenshot(), image.get_attribute("src")
            box = image.bounding_box()
            assert box["width"] > 200 and box["height"] > 150, "the explorer's picture is visible"
            natural = image.evaluate("el => el.naturalWidth")
            assert abs(box["width"] - natural / 2) <= 2, "shown at its own size with twice the pixels, not stretched"

            head = page.locator(".jp-OutputArea-output .widget-dropdown", has_text="head").locator("select")
            options = head.locator("option").all_inner_texts()
            assert len(options) >= 2, f"a head choice is offered, got {options}"
            head.select_option(label=options[1] if options[0] != options[1] else options[-1])
            page.wait_for_function(
                "([el, src]) => el.getAttribute('src') !== src", arg=[image, src_before], timeout=30_000
            )
            after = page.query_selector(".jp-OutputArea-output .widget-image").screenshot()
            assert after != before, "choosing another head redraws the attention picture"

            query = page.locator(".jp-OutputArea-output .widget-dropdown", has_text="query").locator("select")
            options = query.locator("option").all_inner_texts()
            chinese = [o for o in options if any("\u4e00" <= c <= "\u9fff" for c in o)]
            assert chinese and not any("\\u" in o for o in chinese), f"Chinese tokens shown as Chinese: {chinese}"
            src = image.get_attribute("src")
            query.select_option(label=chinese[0])  # the picture now names a Chinese token in its title and bars
            page.wait_for_function("([el, src]) => el.getAttribute('src') !== src", arg=[image, src], timeout=30_000)
            page.screenshot(path=str(tmp_path / "explorer.png"))
            toasts = page.locator(".Toastify__toast").all_inner_texts()
            assert not any("news" in toast for toast in toasts), f"no news pop-up on a course launch: {toasts}"
        finally:
            browser.close()
