"""The project's own description of itself stays consistent: pyproject, environment.yml, README, CI."""

import re
import sys
from pathlib import Path

import yaml
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name where they differ
PIP_ONLY = {"mpl-font", "gguf"}  # installed by environment.yml's pip line (gguf: not checked on conda-forge)


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = pyproject()["project"]
    wanted = {}
    for line in project["dependencies"] + project["optional-dependencies"]["course"]:
        req = Requirement(line)
        if req.name not in PIP_ONLY:
            wanted[CONDA_NAMES.get(req.name, req.name)] = str(req.specifier)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    listed, pip_section = {}, None
    for item in env["dependencies"]:
        if isinstance(item, dict):
            pip_section = item["pip"]
            continue
        name, spec = re.match(r"([A-Za-z0-9_.-]+)(.*)", item).groups()
        if name not in ("python", "pip"):
            listed[name] = spec
    assert listed == wanted
    assert pip_section == ['-e ".[course]"']


def test_readme_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install -e ".[course]" && llama-course' in readme
    assert 'pip install -e ".[course,dev]" && python -m pytest' in readme
    assert 'pip install --quiet -e ".[course,dev]"' in ci
    assert "python -m pytest" in ci
    assert "torch==2.13.0" in ci, "CI must install the CPU torch build before the package"


def test_console_script_points_at_a_function():
    from llama_course import cli

    target = pyproject()["project"]["scripts"]["llama-course"]
    module, function = target.split(":")
    assert module == "llama_course.cli" and callable(getattr(cli, function))
