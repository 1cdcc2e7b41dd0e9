"""A render killed again and again, at random moments, finishes as an undisturbed one.

Renders the first 160 frames of the 1906 film (two shots and a flash) once without a stop,
then again while killing it KILLS times at random moments (SIGKILL, SIGTERM or SIGINT, chosen
at random; each run started with the same command), lets the last run finish, and compares
the two videos' frames and timestamps. The kills come 2 s to a fifteenth of the
undisturbed render's time after each start, so that they land throughout the render on any
machine.

    python tests/kill_soak.py [--kills 20] [--seed 0]

Prints one line per kill and the verdict; exits 1 if the videos differ. Time-based on purpose:
the moments are random, so that over many runs they land everywhere (the tests kill at named
points instead: tests/test_interruptions.py).
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vidstyle.video_io import read_frames
from vidstyle.workdir import work_dir_for

ROOT = Path(__file__).resolve().parent.parent
SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)


def _command(output: Path) -> list[str]:
    return [
        sys.executable, "-m", "vidstyle", str(ROOT / "samples" / "shepard_calais_1906.ogv"), "--frames", "160",
        "--style", str(ROOT / "samples" / "starry_night.jpg"), "--size", "96", "--iterations", "20",
        "--frame-iterations", "5", "--scales", "1", "--threads", "1", "-q", "-o", str(output),
    ]  # fmt: skip


def _interruptible() -> None:
    """In the child: SIGINT as a terminal's Ctrl-C delivers it. A script started in the
    background of a shell without job control inherits SIGINT ignored, and so would the
    renders it starts: its SIGINT kills would pass unnoticed (they did, until this)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _finished_frames(output: Path) -> int:
    journal = work_dir_for(output) / "frames.jsonl"
    return len(journal.read_text().splitlines()) if journal.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    chance = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        whole, output = Path(folder) / "whole.mp4", Path(folder) / "killed.mp4"
        started = time.perf_counter()
        subprocess.run(_command(whole), check=True)
        whole_seconds = time.perf_counter() - started
        print(f"undisturbed: {whole_seconds:.0f} s")
        kills = 0
        while kills < args.kills and not output.exists():
            process = subprocess.Popen(
                _command(output), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_interruptible
            )
            # From start-up (some 3 s: some kills land before any frame) to a fifteenth of a
            # whole render past it: on a slow machine or a fast one, the kills land throughout
            # the render, and it takes about 20 of them to finish.
            time.sleep(chance.uniform(2.0, 2.0 + whole_seconds / 15))
            if process.poll() is not None:
                break  # it finished first
            signum = chance.choice(SIGNALS)
            process.send_signal(signum)
            process.wait()
            kills += 1
            print(
                f"kill {kills:2}: {signum.name:<7} exit {process.returncode:4}, {_finished_frames(output)} frames kept"
            )
        if not output.exists():
            subprocess.run(_command(output), check=True)
        expected, resumed = list(read_frames(whole)), list(read_frames(output))
        same_times = [f.pts for f in expected] == [f.pts for f in resumed]
        same_frames = len(expected) == len(resumed) and all(
            np.array_equal(a.frame, b.frame) for a, b in zip(expected, resumed, strict=True)
        )
        verdict = "identical" if same_times and same_frames else "DIFFERENT"
        print(f"{kills} kills; {len(resumed)} frames against {len(expected)}: frames and timestamps {verdict}")
        sys.exit(0 if verdict == "identical" else 1)


if __name__ == "__main__":
    main()
