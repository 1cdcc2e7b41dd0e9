"""The size of the house's rooms: the longest modules and functions under vidstyle/.

    python tests/house_size.py         # the five longest of each
    python tests/house_size.py 20

tests/test_layers.py holds every module to MAX_MODULE_LINES and every function to
MAX_FUNCTION_LINES (its docstring and decorators counted).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "vidstyle"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def module_lines() -> list[tuple[int, str]]:
    """(lines, path below the package) of every module, longest first."""
    sizes = [(len(path.read_text().splitlines()), str(path.relative_to(PACKAGE))) for path in PACKAGE.rglob("*.py")]
    return sorted(sizes, reverse=True)


def function_lines() -> list[tuple[int, str]]:
    """(lines, ``module:function``) of every function and method, longest first."""
    sizes = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                assert node.end_lineno is not None
                sizes.append((node.end_lineno - first + 1, f"{path.relative_to(PACKAGE)}:{node.name}"))
    return sorted(sizes, reverse=True)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"longest modules under vidstyle/ (at most {MAX_MODULE_LINES} lines):")
    for lines, name in module_lines()[:count]:
        print(f"  {lines:4d}  {name}")
    print(f"longest functions (at most {MAX_FUNCTION_LINES} lines):")
    for lines, name in function_lines()[:count]:
        print(f"  {lines:4d}  {name}")


if __name__ == "__main__":
    main()
