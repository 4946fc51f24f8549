"""The package's layout is its design: the LLaMA at the top level, then layers that import only downwards."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "llama_course"
# Lower numbers sit lower: a module may import from its own layer and the ones below, never from above.
LAYERS = {"data": 1, "training": 2, "evaluation": 3, "serving": 3, "viz": 4, "classroom": 5}
ENTRY_POINTS = {"cli", "__main__"}  # they drive every layer
MAX_LINES = 400  # lines of code per module, blank lines and comments not counted


def module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def layer(parts: list[str]) -> int:
    """0 for the top-level modules (the model and its helpers), 9 for the entry points."""
    if len(parts) == 2 and parts[1] in ENTRY_POINTS:
        return 9
    return LAYERS[parts[1]] if len(parts) > 1 and parts[1] in LAYERS else 0


def imported_modules(path: Path) -> list[list[str]]:
    """The llama_course modules a file imports (relative imports resolved), wherever the import statement is."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = base + (node.module.split(".") if node.module else [])
            if target[:1] == ["llama_course"]:
                found.append(target)
        elif isinstance(node, ast.Import):
            found += [a.name.split(".") for a in node.names if a.name.split(".")[0] == "llama_course"]
    return found


def test_layers_import_only_downwards():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        for target in imported_modules(path):
            if layer(target) > layer(source):
                upward.append(f"{'.'.join(source)} imports {'.'.join(target)}")
    assert not upward, upward


def test_the_layer_check_sees_relative_imports():
    """The check itself: a training module importing the classroom, relatively, is caught."""
    path = PACKAGE / "training" / "loop.py"
    targets = imported_modules(path)
    assert ["llama_course", "model"] in targets and ["llama_course", "training", "recipe"] in targets
    assert layer(["llama_course", "classroom", "course"]) > layer(module_name(path))


def test_no_module_is_longer_than_a_chapter():
    def code_lines(path: Path) -> int:
        return sum(1 for line in path.read_text(encoding="utf-8").splitlines()
                   if line.strip() and not line.lstrip().startswith("#"))

    long = {str(p.relative_to(PACKAGE)): code_lines(p) for p in PACKAGE.rglob("*.py") if code_lines(p) > MAX_LINES}
    assert not long, long
