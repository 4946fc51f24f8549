"""Test-run settings: fast mode for every notebook kernel (kernels inherit this environment), and a cache of the
run's own, so tests and notebooks never write into the user's ~/.cache/llama-course."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("LLAMA_COURSE_FAST", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
if "LLAMA_COURSE_CACHE" not in os.environ:
    os.environ["LLAMA_COURSE_CACHE"] = tempfile.mkdtemp(prefix="llama-course-test-cache-")
    atexit.register(shutil.rmtree, os.environ["LLAMA_COURSE_CACHE"], ignore_errors=True)


def pytest_collection_modifyitems(items):
    """Every notebook and the real-browser test are slow (see the `slow` marker in pyproject.toml)."""
    import pytest

    for item in items:
        if item.path.suffix == ".ipynb" or "browser" in item.path.parts:
            item.add_marker(pytest.mark.slow)
