"""Student copies: every notebook has exercises; the copies hold no solution; each check fails on the
stub and passes on the solution."""

import json
import re
from pathlib import Path

import pytest

from llama_course.classroom.exercises import ExerciseError
from llama_course.classroom.student_copies import (
    BEGIN,
    END,
    is_check_cell,
    is_solution_cell,
    strip_solution,
    student_notebook,
    uses_solution,
    write_student_copies,
)
from llama_course.cli import main

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def code_sources(notebook):
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


def exercises_of(notebook):
    """(solution source, check lines, first code cell) for every exercise of a notebook. A solution cell may
    start with a ``%%writefile`` line (the learner's code goes to a file that the check cell imports); the
    check cell's other lines, such as that import, are not check lines."""
    cells = code_sources(notebook)
    found = []
    for i, source in enumerate(cells):
        if BEGIN in source:
            checks = [line for line in cells[i + 1].splitlines() if line.startswith("exercises.check_")]
            found.append((source, checks, cells[0]))
    return found


def python_of(cell_source):
    """A cell's source as plain Python: without its ``%%writefile`` line, the code that the file holds."""
    first, _, rest = cell_source.partition("\n")
    return rest if first.startswith("%%writefile ") else cell_source


def test_strip_solution_keeps_the_signature_and_indentation():
    source = 'def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION\n'
    assert strip_solution(source) == 'def f(x):\n    """Doc."""\n    raise NotImplementedError  # your code here\n'
    with pytest.raises(ValueError, match="without its"):
        strip_solution(f"{BEGIN}\nx = 1\n")
    with pytest.raises(ValueError, match="without its"):
        strip_solution(f"x = 1\n{END}\n")


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    out = tmp_path_factory.mktemp("students")
    assert main(["student-copies", str(out), "--dir", str(NOTEBOOKS)]) == 0
    return out


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_every_notebook_has_checked_exercises_and_its_copy_none_of_the_solutions(path, copies):
    teacher = json.loads(path.read_text(encoding="utf-8"))
    found = exercises_of(teacher)
    assert found, "every notebook has exercises"
    assert all(checks for _, checks, _ in found), "each solution is followed by a check cell"
    student = json.loads((copies / path.name).read_text(encoding="utf-8"))
    assert len(student["cells"]) == len(teacher["cells"])
    text = json.dumps(student)
    assert BEGIN not in text and END not in text
    for solution, _, _ in found:
        body = solution.split(BEGIN)[1].split(END)[0].strip()
        assert body.splitlines()[0].strip() not in text, "the solution's code is gone"
    stubs = [c for c in student["cells"] if "raise NotImplementedError  # your code here" in "".join(c["source"])]
    assert len(stubs) == len(found)
    assert all(c["outputs"] == [] and c["execution_count"] is None and "jupyter" not in c["metadata"] for c in stubs)
    checks = [c for c in student["cells"] if c["cell_type"] == "code" and "exercises.check_" in "".join(c["source"])]
    code = [c for c in student["cells"] if c["cell_type"] == "code"]
    after_stubs = [b for a, b in zip(code, code[1:], strict=False) if a in stubs]
    assert all(c in checks for c in after_stubs)  # (a later cell may run a check too: 05 checks my_llama.py)
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in checks), "no ✓ before any work"
    assert "✓" in json.dumps(teacher, ensure_ascii=False)  # (the teacher's copy keeps them)


@pytest.mark.slow  # a subprocess or a kernel: seconds
def test_a_check_before_the_exercise_is_written_shows_one_friendly_line():
    """In a kernel: the message alone, no traceback through the library; the learner's own error keeps the
    frames of their code (and only those)."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    cells = ["from llama_course.classroom import exercises\n"
             "def softmax(x):\n    raise NotImplementedError  # your code here\n"
             "exercises.check_softmax(softmax)",
             "def softmax(x):\n    return x.softmax(dim=9)\n"
             "exercises.check_softmax(softmax)"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, kernel_name="python3", timeout=120, allow_errors=True).execute()
    (stub_error,), (bug_error,) = (c.outputs for c in notebook.cells)
    assert stub_error.ename == "ExerciseError"
    assert len(stub_error.traceback) == 1 and "softmax is not written yet" in stub_error.traceback[0]
    shown = "\n".join(bug_error.traceback)
    assert "raised IndexError" in bug_error.traceback[0] and "return x.softmax(dim=9)" in shown
    assert "exercises/" not in shown and "site-packages" not in shown and "check_softmax" not in shown.split("\n", 1)[1]


@pytest.mark.slow  # runs every exercise of every notebook, stub and solution: seconds each
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_each_check_fails_on_the_stub_and_passes_on_the_solution(path, capsys):
    for solution, checks, setup in exercises_of(json.loads(path.read_text(encoding="utf-8"))):
        for code, passes in ((solution, True), (strip_solution(solution), False)):
            namespace = {}
            exec(setup, namespace)  # the notebook's imports (and course.setup())
            exec(python_of(code), namespace)
            for check in checks:
                if passes:
                    exec(check, namespace)
                else:
                    with pytest.raises(ExerciseError, match="not written yet"):
                        exec(check, namespace)
    assert capsys.readouterr().out.count("✓") == sum(len(c) for _, c, _ in exercises_of(
        json.loads(path.read_text(encoding="utf-8"))))


def test_student_copies_never_overwrite_work(tmp_path):
    write_student_copies(NOTEBOOKS, tmp_path)
    mine = tmp_path / PATHS[0].name
    mine.write_text("a student's work")
    with pytest.raises(SystemExit, match="--force"):
        main(["student-copies", str(tmp_path), "--dir", str(NOTEBOOKS)])
    assert mine.read_text() == "a student's work"
    with pytest.raises(SystemExit, match="another folder"):
        main(["student-copies", str(NOTEBOOKS), "--dir", str(NOTEBOOKS)])
    write_student_copies(NOTEBOOKS, tmp_path, force=True)
    assert json.loads(mine.read_text())["cells"]
    assert not any(is_solution_cell(c) for c in json.loads(mine.read_text())["cells"])


def test_cells_that_run_the_learners_code_lose_their_outputs_in_the_copy():
    output = [{"output_type": "stream", "name": "stdout", "text": "yours equals the model's: True\n"}]
    def cell(source, tags=()):
        return {"cell_type": "code", "source": source, "metadata": {"tags": list(tags)}, "outputs": list(output),
                "execution_count": 3}
    notebook = {"cells": [cell("print(1)"), cell("run_mine(trained)", ["uses-solution"])]}
    plain, uses = student_notebook(notebook)["cells"]
    assert plain["outputs"] == output and plain["execution_count"] == 3
    assert uses["outputs"] == [] and uses["execution_count"] is None
    assert notebook["cells"][1]["outputs"] == output  # the teacher's notebook is untouched



CAPSTONE = {"MyBlock", "MyLlama"}  # notebook 04's classes, which later notebooks import from the learner's file
MODULES = {"my_llama"}  # the learner's own file (notebook 04's %%writefile cell), imported elsewhere


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_cells_that_run_the_learners_code_are_tagged_uses_solution(path):
    """Every code cell, other than a check, that calls a function or class the learner wrote (or imports the
    learner's file) is tagged uses-solution, so a student copy shows no output of code the student has not
    written. A name counts from its solution cell on, a %%writefile cell's classes included."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    learner, modules, untagged = set(CAPSTONE), set(MODULES), []
    for cell in cells:
        text = "".join(cell["source"])
        if is_solution_cell(cell):
            learner |= set(re.findall(r"^(?:def|class) (\w+)", python_of(text), flags=re.M))
            modules |= set(re.findall(r"^%%writefile (\w+)\.py", text))
        elif cell["cell_type"] == "code" and not is_check_cell(cell) and not uses_solution(cell):
            untagged += [(text[:40], name) for name in sorted(learner) if re.search(rf"(?<![\w.]){name}\(", text)]
            untagged += [(text[:40], name) for name in sorted(modules) if re.search(rf"(?<![\w.]){name}\b", text)]
    assert not untagged
