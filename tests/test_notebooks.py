"""Static checks of the committed notebooks; nbval (run by the same test command) executes them."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def code_cells(path):
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def test_the_written_notebooks_exist():
    written = {"00_welcome", "01_tokenization", "02_attention", "03_multihead_rope_gqa", "04_llama_block",
               "05_pretraining", "06_generation", "07_finetuning", "08_beyond", "09_evaluation",
               "10_alignment"}
    assert {f"{name}.ipynb" for name in written} <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_executed_and_clean(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    cells = code_cells(path)
    assert "course.setup(" in "".join(cells[0]["source"]), "the first code cell calls course.setup()"
    counts = [c["execution_count"] for c in cells]
    assert None not in counts and counts == sorted(counts), "run top to bottom, every cell executed"
    for cell in cells:
        for out in cell["outputs"]:
            assert out["output_type"] != "error", "no stored errors"
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            assert "/home/" not in text and "/root/" not in text and "/work/" not in text, "no local paths"
            assert "image/svg+xml" not in out.get("data", {}), "PNG figures only (SVG never compares equal)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_have_collapsed_solutions_and_checks(path):
    cells = code_cells(path)
    solutions = [i for i, c in enumerate(cells) if "### BEGIN SOLUTION" in "".join(c["source"])]
    assert solutions, "every notebook has at least one exercise"
    for i in solutions:
        source = "".join(cells[i]["source"])
        assert "### END SOLUTION" in source
        assert cells[i]["metadata"].get("jupyter", {}).get("source_hidden") is True
        assert "exercises.check_" in "".join(cells[i + 1]["source"]), "a check cell follows each solution"
