"""docs/performance.md and the README's speed table, written from benchmarks/results/*.json:
every figure with its machine, date and command, as the benchmark recorded them.

    python docs/performance.py          # print docs/performance.md
    python docs/performance.py --write  # write it, and the README's table between its markers

tests/test_docs.py fails when either differs from what the results say.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PAGE = ROOT / "docs" / "performance.md"
README = ROOT / "README.md"
BEGIN, END = "<!-- speed: written by docs/performance.py -->", "<!-- end of speed -->"
# The README's table: the detail pass against Lanczos and a full-size paint.
README_RESULT = "detail.cpu.*.json"
DETAIL_COLUMNS = ("style at delivered size", "style at painted size", "sharpness", "warping error", "seconds")

FLOW_COLUMNS = (
    "warp@1", "warp@2", "warp@4", "reappear@4", "kept@4", "style loss", "flow core-s/frame",
    "not network core-s/frame", "evaluations/later frame", "s/later frame",
)  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3e}" if 0 < value < 0.01 else f"{value:.3f}"
    return str(value)


def _machine(result: dict[str, Any]) -> str:
    machine = result["machine"]
    bf16 = ", ".join(machine["cpu bf16 flags"]) or "no native bf16"
    gpu = f", {machine['gpu']}" if machine.get("gpu") else ""
    return f"{machine['cpu']} ({bf16}), {machine['cores']} cores{gpu}, torch {machine['torch']}"


def _provenance(result: dict[str, Any], name: str) -> str:
    return f"*{result['date']}, {_machine(result)}: `{result['command']}` ([{name}](../benchmarks/results/{name}))*"


def flow_table(result: dict[str, Any], columns: tuple[str, ...] = FLOW_COLUMNS) -> str:
    rows = [
        "| clip | run | size | " + " | ".join(columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for row in result["rows"]:
        cells = " | ".join(_cell(row.get(column)) for column in columns)
        rows.append(f"| {row['clip']} | {row['run']} | {row['size']} | {cells} |")
    return "\n".join(rows)


def detail_table(result: dict[str, Any]) -> str:
    """``benchmarks/bench_detail.py``'s runs at the delivered size, and the painted frames at theirs."""
    width, height = result["delivered"]
    painted_w, painted_h = result["painted"]
    lines = [
        f"| {result['frames']} frames, {width}x{height} | " + " | ".join(DETAIL_COLUMNS) + " | time |",
        "|---|" + "---|" * (len(DETAIL_COLUMNS) + 1),
    ]
    base = result["rows"][0]["seconds"]
    for row in result["rows"]:
        cells = " | ".join(_cell(row.get(column)) for column in DETAIL_COLUMNS)
        lines.append(f"| {row['run']} | {cells} | {row['seconds'] / base:.2f}x |")
    own = result["painted frames"]
    cells = " | ".join(_cell(own.get(column)) for column in DETAIL_COLUMNS)
    lines.append(f"| the painted frames at {painted_w}x{painted_h} | {cells} | |")
    return "\n".join(lines)


STEADINESS_COLUMNS = (
    "warping error", "vs painted", "vs per-frame", "style", "composition", "pops max", "sharpness first, min, last",
    "s a later frame",
)  # fmt: skip


def steadiness_table(result: dict[str, Any]) -> str:
    """``benchmarks/bench_steadiness.py``: the detail pass's variants on one real clip."""
    lines = ["| run | " + " | ".join(STEADINESS_COLUMNS) + " |", "|---|" + "---|" * len(STEADINESS_COLUMNS)]
    for name, row in result["rows"].items():
        cells = []
        for column in STEADINESS_COLUMNS:
            value = row.get(column)
            cells.append(", ".join(f"{v:.1f}" for v in value) if isinstance(value, list) else _cell(value))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def memory_table(result: dict[str, Any]) -> str:
    rows = ["| size | precision | peak | predicted | predicted/peak |", "|---|---|---|---|---|"]
    for row in result.get("memory", result.get("rows", [])):
        peak, predicted = row["peak_bytes"], row["predicted_bytes"]
        rows.append(
            f"| {row['size']} | {row['precision']} | {peak / 2**20:.0f} MiB | {predicted / 2**20:.0f} MiB | "
            f"{predicted / peak:.2f} |"
        )
    return "\n".join(rows)


def steps_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| size | precision | ms/step | GFLOP/s |", "|---|---|---|---|"]
    lines += [f"| {r['size']} | {r['precision']} | {r['ms/step']:.0f} | {r['GFLOP/s']:.0f} |" for r in rows]
    return "\n".join(lines)


def door_sections(path: Path) -> list[str]:
    """A ``python -m benchmarks`` result: its steps, memory and long-term-flow tables."""
    result = json.loads(path.read_text())
    door = path.name.split(".")[0]
    parts = ["", f"## `python -m benchmarks {door}`", "", _provenance(result, path.name)]
    if result.get("steps"):
        parts += ["", "Milliseconds per optimization step (forward and backward to the pixels):", ""]
        parts += [steps_table(result["steps"])]
    if result.get("memory"):
        parts += ["", "Peak memory of a frame against the pre-check's prediction:", "", memory_table(result)]
    for size, rows in result.get("long_term_flow", {}).items():
        parts += ["", f"Long-term flows, chained or direct, at {size}:", "", flow_table({"rows": rows})]
    return parts


def studio_section(path: Path) -> list[str]:
    """``benchmarks/bench_studio.py``: the studio's start and tries, and the servers it chose between."""
    result = json.loads(path.read_text())
    starts = ", ".join(f"{seconds:.2f}" for seconds in result["start seconds"])
    parts = ["", f"## The studio: {path.name.split('.')[1]}", "", _provenance(result, path.name), ""]
    parts += [f"From `vidstyle studio` to its page answering: {starts} s.", ""]
    parts += [f"| try on a frame of {result['clip']} | styles | size | first style shown, s | all, s |"]
    parts += ["|---|---|---|---|---|"]
    for row in result["tries"]:
        parts.append(f"| {'first' if row['first'] else 'later'} | {row['styles']} | {row['size']} | "
                     f"{row.get('first shown', row['seconds']):.2f} | {row['seconds']:.2f} |")  # fmt: skip
    parts += ["", "The server, each imported in a fresh process:", ""]
    parts += ["| server | installs | import seconds | resident MB |", "|---|---|---|---|"]
    for name, cost in result["servers"].items():
        installs = f"{cost['site-packages MB']} MB, {cost['packages']} packages" if "packages" in cost else "nothing"
        label = f"{name} {cost['gradio']}" if "gradio" in cost else name
        parts.append(f"| {label} | {installs} | {cost['import seconds']:.2f} | {cost['resident MB']} |")
    return parts


def page() -> str:
    parts = [
        "# Performance",
        "",
        "Written by `docs/performance.py` from `benchmarks/results/*.json`; do not edit by hand.",
        "Each table gives the date, the machine and the command that measured it. Warping errors",
        "(warp@N: between frames N apart) are judged by Farneback's flow on the source frames, not",
        "the flow the render followed; reappear@4 is the warping error where a post crossing the",
        "clip had hidden the picture in between; kept@4 is the share of direct flows' gain over",
        "`--long-term 1` at warp@4 that a run keeps. Core-seconds are process CPU time, which the",
        "machine's load does not inflate as it does seconds.",
    ]
    for door in ("quick", "full"):
        for path in sorted(RESULTS.glob(f"{door}.*.json")):
            parts += door_sections(path)
    for path in sorted(RESULTS.glob("long_term_flow.*.json")):
        result = json.loads(path.read_text())
        parts += [
            "",
            f"## Long-term flows, chained or direct: {path.name.split('.')[1]}",
            "",
            _provenance(result, path.name),
        ]
        parts += ["", flow_table(result)]
    for path in sorted(RESULTS.glob("detail.*.json")):
        result = json.loads(path.read_text())
        parts += ["", f"## The detail pass: {path.name.split('.')[1]}", "", _provenance(result, path.name), ""]
        parts += [
            f"{result['clip']}, in the style of {result['style']}, painted at {result['painted'][0]}x"
            f"{result['painted'][1]} and delivered at {result['delivered'][0]}x{result['delivered'][1]}. Style "
            "losses against the painting at each size; sharpness is the mean |Laplacian| of the luminance; the "
            "warping error is taken at each size along DIS's flow at up to 480 px, enlarged; time against the "
            "Lanczos run's.",
            "",
            detail_table(result),
        ]
    steadiness = sorted(RESULTS.glob("steadiness.*.json"))
    if steadiness:
        parts += [
            "",
            "## Steady at the size delivered: real clips",
            "",
            "Each clip painted once (`--detail off`), its painted frames then delivered by each variant of the",
            "detail pass: `current` is the default; `previous` 0.6.0's later frame (two L-BFGS iterations, the",
            "better kept); `hold=K` the default with another hold. The warping error is taken at the delivered",
            "size along DIS's flow on the sources at up to 480 px, enlarged (the painted frames' at their own",
            "size); vs painted is its ratio to the painted frames', vs per-frame to a render painted and",
            "delivered frame by frame (`--temporal-weight 0 --temporal-init content`). Pops: the largest",
            "mean change between consecutive delivered frames, in grey levels, where the source is still.",
            "Style: the style loss at the delivered size (reflect-padded network, unit weights); composition:",
            "the frames' style loss shrunk to the painted size, against the painted frames'. Sharpness:",
            "mean |Laplacian|. Looked at: `docs/steadiness_crops.jpg` and `docs/steadiness_loop.gif`",
            "(`docs/steadiness_crops.py`).",
        ]
    for path in steadiness:
        result = json.loads(path.read_text())
        (width, height), (painted_w, painted_h) = result["delivered"], result["painted"]
        parts += ["", f"### {result['clip']}: {width}x{height} from {painted_w}x{painted_h}, {result['frames']} frames"]
        parts += ["", _provenance(result, path.name), "", steadiness_table(result)]
    for path in sorted(RESULTS.glob("memory.*.json")):
        result = json.loads(path.read_text())
        machine = _machine(result) if "machine" in result else f"{result['device']}, torch {result['torch']}"
        parts += ["", f"## Peak memory against the pre-check: {path.name.split('.')[1]}", ""]
        parts += [f"*{result['date']}, {machine}: `{result['command']}`*", ""]
        parts += [memory_table(result)]
    for path in sorted(RESULTS.glob("studio.*.json")):
        parts += studio_section(path)
    parts += [
        "",
        "## GPU",
        "",
        "The device check's logs, as it printed them: `benchmarks/results/device_check.*.log`.",
        "Run `bash benchmarks/device_check.sh` on a card to measure it.",
    ]
    return "\n".join(parts) + "\n"


def readme_table() -> str:
    [path] = sorted(RESULTS.glob(README_RESULT))[-1:]
    result = json.loads(path.read_text())
    return f"{_provenance(result, path.name).replace('../', '')}\n\n{detail_table(result)}"


def written_readme(text: str) -> str:
    before, rest = text.split(BEGIN)
    _, after = rest.split(END)
    return f"{before}{BEGIN}\n{readme_table()}\n{END}{after}"


def main() -> None:
    if "--write" in sys.argv[1:]:
        PAGE.write_text(page())
        README.write_text(written_readme(README.read_text()))
    else:
        print(page())


if __name__ == "__main__":
    main()
