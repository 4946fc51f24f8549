"""How long each notebook takes to run top to bottom, in full mode and in fast mode (LLAMA_COURSE_FAST=1).

Runs copies in a temporary folder (the committed notebooks and their outputs are not touched) and prints a
Markdown table for the README. Usage: python benchmarks/notebook_times.py [NAME ...] [--mode full|fast|both]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def run_seconds(path: Path, fast: bool) -> float:
    """Wall-clock seconds to execute a copy of the notebook in a fresh kernel (kernel start-up included)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        shutil.copy(path, copy)
        notebook = nbformat.read(copy, as_version=4)
        saved = os.environ.get("LLAMA_COURSE_FAST")
        os.environ.pop("LLAMA_COURSE_FAST", None)
        if fast:
            os.environ["LLAMA_COURSE_FAST"] = "1"
        try:
            start = time.perf_counter()
            ExecutePreprocessor(timeout=1800, kernel_name="python3").preprocess(notebook, {"metadata": {"path": tmp}})
            return time.perf_counter() - start
        finally:
            os.environ.pop("LLAMA_COURSE_FAST", None)
            if saved is not None:
                os.environ["LLAMA_COURSE_FAST"] = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names or prefixes (default: all)")
    parser.add_argument("--mode", choices=("full", "fast", "both"), default="both")
    args = parser.parse_args()
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.names:
        paths = [p for p in paths if any(p.stem.startswith(n) for n in args.names)]
    modes = ("full", "fast") if args.mode == "both" else (args.mode,)
    print("| notebook | " + " | ".join(f"{m} mode" for m in modes) + " |")
    print("|---|" + "---|" * len(modes))
    totals = dict.fromkeys(modes, 0.0)
    for path in paths:
        cells = []
        for mode in modes:
            seconds = run_seconds(path, fast=mode == "fast")
            totals[mode] += seconds
            cells.append(f"{seconds:.0f} s")
        print(f"| `{path.stem}` | " + " | ".join(cells) + " |", flush=True)
    print("| all | " + " | ".join(f"{totals[m] / 60:.1f} min" for m in modes) + " |")


if __name__ == "__main__":
    main()
