"""The house's layers: no vidstyle module imports, even lazily, one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.house_size import MAX_FUNCTION_LINES, MAX_MODULE_LINES, function_lines, module_lines

PACKAGE = Path(__file__).resolve().parent.parent / "vidstyle"


def _module_name(path: Path) -> str:
    """``flow.motion`` for vidstyle/flow/motion.py, ``flow`` for vidstyle/flow/__init__.py."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Each module's vidstyle imports, by dotted name below the package (``flow.motion``)."""
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):  # function-level imports too
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "vidstyle":
                base = node.module.removeprefix("vidstyle").removeprefix(".")
                for alias in node.names:
                    submodule = f"{base}.{alias.name}" if base else alias.name
                    found.add(submodule if submodule in paths else base)
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names if alias.name.startswith("vidstyle.")]
                found |= {name.removeprefix("vidstyle.") for name in names}
        graph[name] = found - {name, ""}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported in sorted(graph.get(module, ())):
            found = visit(imported, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    for module in sorted(graph):
        found = visit(module, [])
        if found:
            return found
    return None


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = _imports()
    assert {"config", "cli", "pipeline", "borders", "flow", "flow.motion"} <= set(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_settings_sit_below_everything_but_the_leaves() -> None:
    graph = _imports()
    assert graph["options"] <= {"errors"}
    assert graph["settings"] <= {"errors", "options", "sizes", "vgg_layout"}
    assert graph["config"] <= {"errors", "options", "settings"}


def test_every_room_is_small() -> None:
    # tests/house_size.py prints the longest of each.
    long_modules = [(lines, name) for lines, name in module_lines() if lines > MAX_MODULE_LINES]
    long_functions = [(lines, name) for lines, name in function_lines() if lines > MAX_FUNCTION_LINES]
    assert long_modules == [] and long_functions == []
