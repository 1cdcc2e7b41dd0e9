"""When and where each shot's Ray task ran: the scheduling of a render over a cluster.

    python benchmarks/experiments/ray_timeline.py                 # a local Ray instance with 2 CPUs
    python benchmarks/experiments/ray_timeline.py --address auto  # a running cluster

Renders a clip of four real shots (pens.mp4 and the 1906 film, glued) at a tiny size with
one CPU a task, and prints each task's worker with its start and end, relative to the
first start, then the render time against the sum of the tasks' times. On a 2-core machine
two tasks share the cores, so the point here is the overlap, not the speed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from vidstyle import imageops
from vidstyle.pipeline import stylize_video
from vidstyle.settings import EncodeSettings
from vidstyle.video_io import Segment, read_frames
from vidstyle.video_writer import VideoWriter

ROOT = Path(__file__).resolve().parent.parent.parent


def four_shots(path: Path, length: int, width: int = 64, height: int = 48) -> Path:
    """pens.mp4, the 1906 film, pens.mp4 later, the film later: ``length`` frames each."""
    pens, film = ROOT / "samples" / "pens.mp4", ROOT / "samples" / "shepard_calais_1906.ogv"
    parts = ((pens, 0), (film, 20), (pens, 44), (film, 200))
    with VideoWriter(
        path, width=width, height=height, time_base=Fraction(1, 25), frame_rate=Fraction(25), encode=EncodeSettings()
    ) as writer:
        pts = 0
        for clip, first in parts:
            for decoded in list(read_frames(clip, Segment(frames=first + length)))[first:]:
                writer.write(imageops.resize_frame(decoded.frame, width, height), pts)
                pts += 1
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", default=None, help="a running cluster (default: a local instance, 2 CPUs)")
    parser.add_argument("--frames", type=int, default=6, help="frames per shot")
    args = parser.parse_args()
    import ray

    if args.address is None:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    else:
        ray.init(address=args.address, log_to_driver=False, configure_logging=False)
    budget: dict[str, Any] = {"size": 64, "iterations": 40, "frame_iterations": 20, "scales": 1, "tolerance": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        clip = four_shots(Path(tmp) / "four.mp4", args.frames)
        started = time.time()
        report = stylize_video(clip, ROOT / "samples" / "starry_night.jpg", Path(tmp) / "out.mp4", ray="auto", **budget)
        wall = time.time() - started
    origin = min(task.started for task in report.tasks)
    print(f"{report.frames} frames in {len(report.cuts) + 1} shots, cuts at {report.cuts}")
    print(f"{'unit':<24} {'attempt':>7} {'worker':<28} {'start s':>8} {'end s':>8} {'visits':>6}")
    for task in sorted(report.tasks, key=lambda t: t.started):
        print(
            f"{task.unit:<24} {task.attempt:>7} {task.worker:<28} {task.started - origin:>8.1f} "
            f"{task.ended - origin:>8.1f} {task.visits:>6}"
        )
    busy = sum(task.ended - task.started for task in report.tasks)
    tasks = sorted(report.tasks, key=lambda t: t.started)
    overlap = [
        (a.unit, b.unit)
        for position, a in enumerate(tasks)
        for b in tasks[position + 1 :]
        if a.started < b.ended and b.started < a.ended
    ]
    print(f"render {wall:.1f} s; tasks' own times add up to {busy:.1f} s; units running at once: {overlap}")
    print(f"workers used: {sorted({task.worker for task in report.tasks})}")


if __name__ == "__main__":
    main()
