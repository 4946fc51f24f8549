"""The classroom kit: student copies of the notebooks, with the exercise solutions taken out.

A solution sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in a code cell; the copy keeps
the rest of the cell (the function's signature) and puts ``raise NotImplementedError`` where the
solution was, at the same indentation, so the check cell that follows says "not written yet". The
check cells lose their outputs too: a student sees no green tick before writing anything.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from ..files import atomic_write

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "raise NotImplementedError  # your code here"
CHECK = re.compile(r"\bcheck_\w+\(")  # a call of one of llama_course.classroom.exercises' checks
USES_SOLUTION = "uses-solution"  # the cell tag of a cell whose output shows the learner's code at work


def strip_solution(source: str) -> str:
    """``source`` with every solution block replaced by the stub line."""
    out, inside = [], False
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"a {BEGIN!r} inside another solution block")
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + STUB + "\n")
        elif stripped == END:
            if not inside:
                raise ValueError(f"an {END!r} without its {BEGIN!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"a {BEGIN!r} without its {END!r}")
    return "".join(out)


def is_solution_cell(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and any(line.strip() == BEGIN for line in _source(cell).splitlines())


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_check_cell(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and CHECK.search(_source(cell)) is not None


def uses_solution(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and USES_SOLUTION in cell.get("metadata", {}).get("tags", [])


def student_notebook(notebook: dict) -> dict:
    """A copy of a notebook (as parsed JSON) with its solutions stubbed, their outputs and those of the
    check cells cleared, and the solution cells shown (the teacher's copy keeps them collapsed)."""
    student = copy.deepcopy(notebook)
    for cell in student.get("cells", []):
        if is_solution_cell(cell):
            cell["source"] = strip_solution(_source(cell))
            cell["outputs"], cell["execution_count"] = [], None
            cell.get("metadata", {}).pop("jupyter", None)
        elif is_check_cell(cell) or uses_solution(cell):
            cell["outputs"], cell["execution_count"] = [], None
    return student


def write_student_copies(notebooks: str | Path, out: str | Path, force: bool = False) -> list[Path]:
    """Write a student copy of every ``*.ipynb`` in ``notebooks`` into the folder ``out``.

    Refuses to write into the notebooks' own folder, and to replace notebooks already in ``out`` (a
    student may have worked in them) unless ``force``.
    """
    source, target = Path(notebooks), Path(out)
    paths = sorted(source.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no notebooks in {source}")
    if target.resolve() == source.resolve():
        raise ValueError("the student copies must go to another folder than the notebooks themselves")
    existing = [target / p.name for p in paths if (target / p.name).exists()]
    if existing and not force:
        raise FileExistsError(f"{len(existing)} notebooks already in {target} (e.g. {existing[0].name}): they may "
                              "hold a student's work; choose another folder or pass --force to replace them")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        destination = target / path.name
        _write_notebook(destination, student_notebook(json.loads(path.read_text(encoding="utf-8"))))
        written.append(destination)
    return written


def _write_notebook(path: Path, notebook: dict) -> None:
    """``notebook`` as JSON (indented by one space, as Jupyter writes it), written atomically."""
    text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
