"""The README's tables of options and quality presets, written from vidstyle.config's
OPTIONS and PRESETS (flags, defaults, help, budgets).

    python docs/options_table.py          # print the tables
    python docs/options_table.py --write  # replace them in README.md, between their markers

tests/test_cli_image.py fails when the README's tables and vidstyle.config differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vidstyle.config import OPTIONS, PRESETS, Option, default_text, option_choices, option_flag, option_type

README = Path(__file__).resolve().parent.parent / "README.md"


def _usage(option: Option) -> str:
    kind = option_type(option)
    if choices := option_choices(option):
        value = "\\|".join(choices)
    elif kind == tuple[float, ...]:
        value = f"{option.metavar} [{option.metavar} ...]"
    else:
        value = (option.metavar or "").replace("|", "\\|")
    return f"`{option_flag(option.name)}{' ' + value if value else ''}`"


def options_table() -> str:
    rows = ["| option | for | default | what it does |", "|---|---|---|---|"]
    for option in OPTIONS:
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


def main() -> None:
    if "--write" in sys.argv[1:]:
        README.write_text(written(README.read_text()))
    else:
        print("\n\n".join(make() for make in TABLES.values()))


if __name__ == "__main__":
    main()
