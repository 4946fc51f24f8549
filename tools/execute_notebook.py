"""Re-execute course notebooks in full mode, in place, the way they are committed.

A fresh kernel runs each notebook top to bottom with fast mode off; widget state is stored so the
widgets show in a saved notebook. Then what would only add noise to a diff is taken out: the per-cell
timing metadata and the Python version nbclient records, and stream outputs split into pieces (each
cell's stdout and stderr become one output each). Usage: python tools/execute_notebook.py NOTEBOOK ...
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def tidy(notebook: nbformat.NotebookNode) -> None:
    """Drop run-specific metadata and join consecutive stream outputs of the same stream."""
    notebook.metadata.get("language_info", {}).pop("version", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        joined: list = []
        for output in cell.outputs:
            last = joined[-1] if joined else None
            if output.output_type == "stream" and last and last.output_type == "stream" and last.name == output.name:
                last.text += output.text
            else:
                joined.append(output)
        cell.outputs = joined


def execute(path: Path, timeout: int) -> float:
    """Run ``path`` in full mode in a fresh kernel, tidy it, write it back; return the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    os.environ.pop("LLAMA_COURSE_FAST", None)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    tidy(notebook)
    nbformat.write(notebook, path)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a cell may take (default 1800)")
    args = parser.parse_args()
    for path in args.notebooks:
        print(f"{path}: {execute(path, args.timeout):.0f} s", flush=True)


if __name__ == "__main__":
    main()
