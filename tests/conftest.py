"""Test-run settings: fast mode for every notebook kernel (kernels inherit this environment)."""

import os

os.environ.setdefault("LLAMA_COURSE_FAST", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
