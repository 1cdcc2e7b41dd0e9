"""The documents written from measurements say what the results say, and the README stays a
manual: short, and every figure in it written by a script."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from vidstyle.cli import main
from vidstyle.cli.parser import (
    build_metrics_parser,
    build_parser,
    build_peek_parser,
    build_probe_parser,
    build_studio_parser,
    build_try_parser,
)

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "docs"))
import performance  # noqa: E402  (docs/ is not a package)


def test_the_performance_page_and_the_readme_table_are_the_results() -> None:
    assert performance.PAGE.read_text() == performance.page(), "run: python docs/performance.py --write"
    text = performance.README.read_text()
    assert performance.written_readme(text) == text, "run: python docs/performance.py --write"


def test_the_readme_is_a_manual() -> None:
    assert len((REPO / "README.md").read_bytes()) <= 15_000


def _readme_commands() -> list[list[str]]:
    """Every vidstyle command in the README's shell blocks, as its words (comments and a
    nohup prefix and redirections dropped)."""
    text = (REPO / "README.md").read_text()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        for line in block.splitlines():
            words = shlex.split(line.split(" #")[0])
            words = words[1:] if words[:1] == ["nohup"] else words
            if words[:1] == ["vidstyle"]:
                redirected = next((i for i, w in enumerate(words) if w.startswith(">")), len(words))
                commands.append(words[1:redirected])
    return commands


def test_every_vidstyle_command_in_the_readme_parses() -> None:
    # Written as a user would type them: a flag renamed or removed fails here.
    commands = _readme_commands()
    assert len(commands) >= 5
    parsers = {
        "probe": build_probe_parser(),
        "metrics": build_metrics_parser(),
        "peek": build_peek_parser(),
        "try": build_try_parser(),
        "studio": build_studio_parser(),
    }
    for words in commands:
        parser = parsers.get(words[0])
        args = parser.parse_args(words[1:]) if parser else build_parser().parse_args(words)
        assert args is not None, words


def test_the_readme_probe_runs_as_written(capsys) -> None:
    [probe] = [words for words in _readme_commands() if words[0] == "probe"]
    assert main(probe) == 0
    assert "pens.mp4" in capsys.readouterr().out


def test_the_map_names_every_module_and_only_modules() -> None:
    page = (REPO / "docs" / "how-it-works.md").read_text()
    section = page[page.index("## The map") :]
    section = section[: section.index("\n## ")] if "\n## " in section else section
    rows = [line for line in section.splitlines() if line.startswith("|")]
    named = {name for row in rows for name in re.findall(r"`([\w/]+\.py)`", row)}
    package = REPO / "vidstyle"
    modules = {str(path.relative_to(package)) for path in package.rglob("*.py")}
    assert named - modules == set(), "named in the map, but no such module"
    assert modules - named == set(), "a module the map leaves out"
