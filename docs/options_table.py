"""The tables of options and quality presets, written from vidstyle.options' OPTIONS and
PRESETS (flags, defaults, help, budgets): the README's (the options most used, and the
presets) and docs/options.md (every option).

    python docs/options_table.py          # print the tables
    python docs/options_table.py --write  # write them: in README.md between their markers, and docs/options.md

tests/test_options.py fails when they and vidstyle.options differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vidstyle.config import default_text, option_choices, option_type
from vidstyle.options import ENGINE, OPTIONS, PRESETS, SIZE_AND_QUALITY, STYLE, TEMPORAL, VIDEO, Option, option_flag

README = Path(__file__).resolve().parent.parent / "README.md"
PAGE = Path(__file__).resolve().parent / "options.md"
# The README's table: the options most renders touch; docs/options.md has every one.
README_SECTIONS = (SIZE_AND_QUALITY, STYLE, VIDEO)


def _usage(option: Option) -> str:
    kind = option_type(option)
    if choices := option_choices(option):
        value = "\\|".join(choices)
    elif kind == tuple[float, ...]:
        value = f"{option.metavar} [{option.metavar} ...]"
    else:
        value = (option.metavar or "").replace("|", "\\|")
    return f"`{option_flag(option.name)}{' ' + value if value else ''}`"


def options_table(sections: tuple[str, ...] = README_SECTIONS) -> str:
    rows = ["| option | for | default | what it does |", "|---|---|---|---|"]
    for option in (o for o in OPTIONS if o.section in sections):
        default = default_text(option) or ("off" if option_type(option) is bool else "")
        applies = "video" if option.video_only else "video, image"
        rows.append(f"| {_usage(option)} | {applies} | {default} | {option.help} |")
    return "\n".join(rows)


def presets_table() -> str:
    rows = [
        "| preset | video size | image size | first-frame / later-frame iterations | tolerance | scales |",
        "|---|---|---|---|---|---|",
    ]
    for name, p in PRESETS.items():
        rows.append(
            f"| {name} | {p.video_size} | {p.image_size} | {p.iterations} / {p.later_iterations} | "
            f"{p.tolerance:g} | {p.scales} |"
        )
    return "\n".join(rows)


TABLES = {"options": options_table, "presets": presets_table}


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}: written by docs/options_table.py -->", f"<!-- end of {name} -->"


def written(text: str) -> str:
    """``text`` (the README) with each table replaced by the current one."""
    for name, make in TABLES.items():
        begin, end = markers(name)
        before, rest = text.split(begin)
        _, after = rest.split(end)
        text = f"{before}{begin}\n{make()}\n{end}{after}"
    return text


def page() -> str:
    """docs/options.md: every option, section by section."""
    parts = [
        "# Options\n",
        "Every option of `vidstyle`, written by `python docs/options_table.py --write` from the options' one\n"
        "declaration (`vidstyle/options.py`). Each is a flag and a keyword of the Python API of the same\n"
        "name (`--frame-iterations 60` is `frame_iterations=60`); `vidstyle --help` lists the same.\n",
    ]
    for section in (SIZE_AND_QUALITY, STYLE, VIDEO, TEMPORAL, ENGINE):
        parts.append(f"## {section[0].upper()}{section[1:]}\n\n{options_table((section,))}\n")
    return "\n".join(parts)


def main() -> None:
    if "--write" in sys.argv[1:]:
        README.write_text(written(README.read_text()))
        PAGE.write_text(page())
    else:
        print("\n\n".join(make() for make in TABLES.values()))


if __name__ == "__main__":
    main()
