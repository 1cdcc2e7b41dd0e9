"""The documents written from measurements say what the results say, and the README stays a
manual: short, and every figure in it written by a script."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "docs"))
import performance  # noqa: E402  (docs/ is not a package)


def test_the_performance_page_and_the_readme_table_are_the_results() -> None:
    assert performance.PAGE.read_text() == performance.page(), "run: python docs/performance.py --write"
    text = performance.README.read_text()
    assert performance.written_readme(text) == text, "run: python docs/performance.py --write"


def test_the_readme_is_a_manual() -> None:
    assert len((REPO / "README.md").read_bytes()) <= 15_000
