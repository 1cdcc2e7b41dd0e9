"""Two renders at once on the same cores: how much slower is each than alone?

Runs one render alone, then two identical ones side by side (separate processes), and prints
the mean seconds of a later frame for each. Fair sharing of the cores would make each about
2x slower; threads that spin while they wait for each other make it far worse.

    python benchmarks/experiments/bench_side_by_side.py [--size 128] [--frames 6] [--env OMP_WAIT_POLICY=PASSIVE]

``--env`` sets environment variables for the renders (repeatable), to compare settings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))  # for common
from common import parser_for  # noqa: E402

# One render, as a child process: prints the later frames' mean seconds as JSON.
CHILD = """
import json, sys, tempfile
from pathlib import Path
from vidstyle.pipeline import stylize_video
records = []
with tempfile.TemporaryDirectory() as tmp:
    stylize_video(sys.argv[1], sys.argv[2], Path(tmp) / "out.mp4", size=int(sys.argv[3]), frames=int(sys.argv[4]),
                  frame_iterations=int(sys.argv[5]), on_frame=lambda p: records.append(p.record))
later = [r.seconds for r in records if not r.fresh]
print(json.dumps({"later_frame_seconds": sum(later) / len(later)}))
"""


def start(args: argparse.Namespace, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", CHILD, str(args.clip), str(args.style), str(args.size), str(args.frames),
               str(args.frame_iterations)]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=tempfile.gettempdir())


def seconds(process: subprocess.Popen[str]) -> float:
    out, _ = process.communicate()
    if process.returncode:
        raise SystemExit(f"a render failed (exit {process.returncode})")
    return float(json.loads(out.strip().splitlines()[-1])["later_frame_seconds"])


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--frame-iterations", type=int, default=30)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.update(item.split("=", 1) for item in args.env)
    alone = seconds(start(args, env))
    pair = [start(args, env), start(args, env)]
    together = [seconds(process) for process in pair]
    settings = f"{args.frame_iterations} iterations a later frame, env {args.env or '-'}"
    print(f"{args.clip.name} at {args.size} px, {settings}")
    print(f"  alone:        {alone:.2f} s a later frame")
    for number, value in enumerate(together, 1):
        print(f"  side by side: {value:.2f} s ({value / alone:.2f}x alone), render {number}")


if __name__ == "__main__":
    main()
