"""Long shots in chunks (``--chunk-frames``): the seams, with and without their repair.

Renders the first frames of one real shot twice with the same settings: whole, and split
into chunks that start fresh. The chunked render is measured twice: once all its chunks are
done (their seams not yet repaired), and at the end (seams repaired). Each is measured on
the saved lossless frames: the warping error of every frame pair (flow and masks from the
source frames); the pairs across a seam against the mean of all pairs inside chunks
("inside"), and against the mean of those away from the seams ("steady": the 8 pairs after
each seam, where a repair hands over, left out; "window" is their mean); the style loss;
and the loss evaluations per frame (the cost, which does not drift with the machine's
load). The whole shot's row shows the same pairs without a seam, for comparison.

    python benchmarks/bench_chunks.py                          # pens.mp4, 60 frames, chunks of 24
    python benchmarks/bench_chunks.py --clip film --frames 96 --chunk-frames 32
"""

from __future__ import annotations

import argparse
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from bench_video import save_picture  # beside this script

from vidstyle import imageops
from vidstyle.flow import FlowEstimator
from vidstyle.metrics import measure, pair_warping_error
from vidstyle.pipeline import FrameProgress, stylize_video
from vidstyle.shots import Shot
from vidstyle.temporal import HANDOVER_FRAMES
from vidstyle.video_io import Segment, read_frames
from vidstyle.work_units import chunk_starts
from vidstyle.workdir import WorkDir, work_dir_for

ROOT = Path(__file__).resolve().parent.parent
# Real footage within one shot: a handheld camera over a desk; the 1906 film after its cut.
CLIPS: dict[str, tuple[Path, Fraction]] = {
    "pens": (ROOT / "samples" / "pens.mp4", Fraction(0)),
    "film": (ROOT / "samples" / "shepard_calais_1906.ogv", Fraction(6)),
}


def render(clip: Path, start: Fraction, style: Path, frames: int, options: dict[str, Any]) -> dict[str, Any]:
    """The saved frames at the end, and (chunked) as they were when the last chunk finished."""
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "out.mp4"
        work = WorkDir(work_dir_for(output))
        snapshot: list[np.ndarray] = []

        def before_the_seams(progress: FrameProgress) -> None:
            # Sequentially a shot's chunks all render before its seams: the last frame's first
            # visit is the last chunk's last.
            if progress.record.index == frames - 1 and progress.record.pass_number == 1:
                snapshot.extend(work.load(i) for i in range(frames))

        report = stylize_video(
            clip, style, output, start=start, frames=frames, keep_frames=True, on_frame=before_the_seams, **options
        )
        final = [work.load(i) for i in range(frames)]
    assert report.cuts == (), f"the frames are not one shot: cuts at {report.cuts}"
    return {"report": report, "final": final, "chunks only": snapshot}


def pair_errors(sources: list[np.ndarray], outputs: list[np.ndarray]) -> list[float]:
    """Warping error of each frame pair (i - 1, i), i from 1."""
    flow = FlowEstimator()
    pairs = range(1, len(outputs))
    return [pair_warping_error(flow, sources[i], sources[i - 1], outputs[i], outputs[i - 1]) for i in pairs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", choices=list(CLIPS), default="pens")
    parser.add_argument("--style", type=Path, default=ROOT / "samples" / "starry_night.jpg")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--chunk-frames", type=int, default=24)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--pictures", type=Path, default=None, help="folder for each seam's frames, side by side")
    args = parser.parse_args()
    clip, start = CLIPS[args.clip]
    options = {"size": args.size, "tolerance": 0.0}
    starts = chunk_starts(Shot(0, 0, args.frames), args.chunk_frames, frozenset())[1:]
    print(f"{clip.name} from {float(start):.1f} s, {args.frames} frames, long side {args.size} px; seams at {starts}")

    whole = render(clip, start, args.style, args.frames, {**options, "chunk_frames": 0})
    chunked = render(clip, start, args.style, args.frames, {**options, "chunk_frames": args.chunk_frames})
    height, width = whole["final"][0].shape[:2]
    sources = [
        imageops.resize_frame(d.frame, width, height)
        for d in read_frames(clip, Segment(start=start, frames=args.frames))
    ]
    seam_pairs = {s - 1 for s in starts}  # index of pair (s - 1, s) in pair_errors
    window = {p for s in starts for p in range(s, s + HANDOVER_FRAMES)}  # pairs inside a repair window
    print(
        f"{'render':<26}{'seams':>20}{'inside':>10}{'worst/in':>9}{'steady':>10}{'worst/st':>9}{'window':>10}"
        f"{'style':>8}{'evals/frame':>12}"
    )
    rows = (
        ("whole shot", whole["final"], whole["report"]),
        ("chunks, seams unrepaired", chunked["chunks only"], None),
        ("chunks, seams repaired", chunked["final"], chunked["report"]),
    )
    for name, outputs, report in rows:
        errors = pair_errors(sources, outputs)
        seams = [errors[p] for p in sorted(seam_pairs)]
        inside = float(np.mean([e for p, e in enumerate(errors) if p not in seam_pairs]))
        steady = float(np.mean([e for p, e in enumerate(errors) if p not in seam_pairs | window]))
        in_window = float(np.mean([errors[p] for p in sorted(window)]))
        style = measure(sources, outputs, styles=(args.style,)).style_loss
        cost = f"{report.evaluations / report.frames:.1f}" if report is not None else "-"
        shown = " ".join(f"{e:.2e}" for e in seams)
        print(
            f"{name:<26}{shown:>20}{inside:>10.2e}{max(seams) / inside:>9.2f}{steady:>10.2e}{max(seams) / steady:>9.2f}"
            f"{in_window:>10.2e}{style:>8.4f}{cost:>12}",
            flush=True,
        )
        if args.pictures is not None:
            for s in starts:
                save_picture(args.pictures, f"seam{s}.{name}", np.hstack(outputs[s - 2 : s + 3]))


if __name__ == "__main__":
    main()
