"""The studio's times on this machine: from `vidstyle studio` to its page answering, and from
asking for a frame in styles to each style shown; and, for the choice of its server, what
Gradio would add against the standard library's (install size, packages, import time and
memory, each in a fresh process).

    python benchmarks/bench_studio.py [--starts 3] [--gradio-python VENV/bin/python]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT, machine_line, parser_for, write_results

sys.path.insert(0, str(ROOT))  # the studio as the tests run it: a real process, asked as the page asks
from tests.studio_server import RunningStudio, running_studio

STYLES = ["samples/starry_night.jpg", "samples/great_wave.jpg", "samples/starry_night.jpg"]
# The memory a process holds once the module is in (VmRSS: ru_maxrss would count the memory of
# the process that forked it, this benchmark's, torch and all).
_IMPORT_PROBE = (
    "import re, time; started = time.perf_counter(); import {module}; seconds = time.perf_counter() - started; "
    "print(seconds, int(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read())[1]) / 1024)"
)


def start_seconds(root: Path) -> float:
    """From starting `vidstyle studio` to its page's first whole answer."""
    started = time.perf_counter()
    with running_studio(root) as studio:
        while True:
            status, _ = studio.call("/")
            if status == 200:
                return time.perf_counter() - started
            time.sleep(0.01)


def try_seconds(studio: RunningStudio, clip: str, styles: list[str]) -> dict[str, Any]:
    """A try as the page makes it (its default options: the preview's budget), one call a
    style: the seconds to the first style shown, and to the last."""
    started = time.perf_counter()
    shown = []
    for style in styles:
        status, answer = studio.call("/api/try", body={"clip": clip, "style": style, "at": 1.0, "options": {}})
        assert status == 200, answer
        shown.append(round(time.perf_counter() - started, 2))
    return {"styles": len(styles), "first shown": shown[0], "seconds": shown[-1],
            "size": f"{answer['width']}x{answer['height']}"}  # fmt: skip


def import_cost(python: str, module: str) -> dict[str, float]:
    """Seconds to import ``module`` in a fresh ``python``, and the memory the process then holds (MB)."""
    out = subprocess.run([python, "-c", _IMPORT_PROBE.format(module=module)], capture_output=True, text=True)
    seconds, megabytes = (float(value) for value in out.stdout.split())
    return {"import seconds": round(seconds, 2), "resident MB": round(megabytes)}


def gradio_cost(python: str) -> dict[str, Any]:
    """What a venv with Gradio holds (its site-packages), and importing it."""
    site = Path(subprocess.check_output([python, "-c", "import gradio, site; print(site.getsitepackages()[0])"],
                                        text=True).strip())  # fmt: skip
    size = sum(path.stat().st_size for path in site.rglob("*") if path.is_file())
    packages = len(list(site.glob("*.dist-info"))) - 1  # pip itself aside
    version = subprocess.check_output([python, "-c", "import gradio; print(gradio.__version__)"], text=True).strip()
    return {"gradio": version, "site-packages MB": round(size / 2**20), "packages": packages,
            **import_cost(python, "gradio")}  # fmt: skip


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--gradio-python", help="a fresh venv's python with only gradio installed")
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(args.clip, root / args.clip.name)
        starts = [round(start_seconds(root), 2) for _ in range(args.starts)]
        print(f"start to the page answering: {starts} s")
        with running_studio(root) as studio:
            tries = [try_seconds(studio, args.clip.name, STYLES[:count]) for count in (1, 1, 3)]
        for label, row in zip(("first try", "later try", "later try"), tries, strict=True):
            first, last = row["first shown"], row["seconds"]
            print(f"{label}: {row['styles']} style(s) at {row['size']}: the first shown in {first} s, all in {last} s")
    servers = {"http.server (standard library)": import_cost(sys.executable, "http.server")}
    if args.gradio_python:
        servers["gradio"] = gradio_cost(args.gradio_python)
    for name, cost in servers.items():
        print(f"{name}: {cost}")
    payload = {
        "clip": str(args.clip.relative_to(ROOT)),
        "start seconds": starts,
        "start median seconds": statistics.median(starts),
        "tries": [{**row, "first": index == 0} for index, row in enumerate(tries)],
        "servers": servers,
    }
    print(write_results("studio", payload))


if __name__ == "__main__":
    main()
