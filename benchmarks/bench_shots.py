"""Multi-pass, long-term consistency, loops and chunks, measured on real footage.

Every run renders the same frames of one shot with the same total iterations per frame
(``--tolerance 0``: no early stop), and is measured the same way on the saved lossless
frames: warping error between frames 1, 2, 5 and 10 apart (flow and masks from the source
frames), the warping error of the shot's first frames (1-3), style and content losses, and
render seconds per frame. A strip of each run's first frames goes to --pictures.

    python benchmarks/bench_shots.py passes       # 1, 2, 4 and 8 passes
    python benchmarks/bench_shots.py long-term    # offsets 1 / 1,2,4 / 1,10,20,40
    python benchmarks/bench_shots.py long-term-flow --size 176   # chained or direct long-term flows
    python benchmarks/bench_shots.py loop         # the seam from the last frame to the first
    python benchmarks/bench_shots.py chunks --clips pens --frames 60 --size 96   # chunks of 24 and their seams
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from common import machine_line, parser_for, render_kept, replaced, save_picture, write_results  # beside this script

from vidstyle import frame_plan, imageops, pipeline, prefetch
from vidstyle.flow import FlowEstimator
from vidstyle.flow.motion import (
    Motion,
    Reliability,
    chained_motion,
    compose,
    long_term_masks,
    measure_motion,
    reliability,
)
from vidstyle.frame_plan import HANDOVER_FRAMES
from vidstyle.metrics import measure, pair_warping_error, warping_error_at_gap
from vidstyle.pipeline import FrameProgress, stylize_video
from vidstyle.settings import TemporalSettings
from vidstyle.shots import Shot
from vidstyle.stylizer import Stylizer
from vidstyle.video_io import Segment, read_frames
from vidstyle.warps import warp
from vidstyle.work_units import chunk_starts
from vidstyle.workdir import WorkDir, work_dir_for

ROOT = Path(__file__).resolve().parent.parent
# Real footage within one shot: a handheld camera over a desk, and the 1906 film after its
# cut (a moving car, grain and flicker).
CLIPS: dict[str, tuple[Path, Fraction]] = {
    "pens": (ROOT / "samples" / "pens.mp4", Fraction(0)),
    "film": (ROOT / "samples" / "shepard_calais_1906.ogv", Fraction(6)),
}
GAPS = (1, 2, 5, 10)


@dataclass(frozen=True)
class Run:
    name: str
    options: dict[str, Any]
    context: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext


def render(clip: Path, start: Fraction, frames: int, style: Path, size: int, options: dict[str, Any]) -> dict[str, Any]:
    rendered = render_kept(clip, style, frames, size, {"start": start, "tolerance": 0.0, **options})
    report, outputs = rendered.report, rendered.outputs
    height, width = outputs[0].shape[:2]
    sources = [
        imageops.resize_frame(d.frame, width, height) for d in read_frames(clip, Segment(start=start, frames=frames))
    ]
    metrics = measure(sources, outputs, styles=(style,))
    flow = FlowEstimator()
    first = [pair_warping_error(flow, sources[i], sources[i - 1], outputs[i], outputs[i - 1]) for i in (1, 2, 3)]
    seam = pair_warping_error(flow, sources[0], sources[-1], outputs[0], outputs[-1])
    return {
        "gaps": {gap: warping_error_at_gap(sources, outputs, gap) for gap in GAPS},
        "first": float(np.mean(first)),
        "seam": seam,
        "style": metrics.style_loss,
        "content": metrics.content_loss,
        "s/frame": report.seconds_per_frame,
        "wall s": rendered.seconds,
        "iterations/frame": report.mean_iterations,
        "strip": np.hstack(outputs[:4]),
        "size": f"{width}x{height}",
    }


def runs_for(study: str) -> list[Run]:
    if study == "passes":
        return [Run(f"{n} pass{'es' if n > 1 else ''}", {"passes": n}) for n in (1, 2, 4, 8)]
    if study == "long-term":
        offsets = ("1", "1,2,4", "1,10,20,40")
        return [Run(f"offsets {o}", {"long_term": [int(x) for x in o.split(",")]}) for o in offsets]
    if study == "loop":
        return [Run("no loop", {}), Run("--loop", {"loop": True})]
    raise SystemExit(f"unknown study {study!r}")


# --- long-term flows: chained from the frame-to-frame links, or estimated across the gap ---

LONG_TERM_GAPS = (1, 2, 4)
# The independent judge: Farneback on the source frames, not the DIS flow the render followed.
JUDGE = TemporalSettings(flow="farneback")


@dataclass
class CoreSeconds:
    """Process CPU time (all threads) spent in the wrapped calls."""

    seconds: float = 0.0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.process_time() - started

        return timed


class BetweenLaterFrames:
    """Process CPU time between one frame's optimization and the next later frame's: the work
    a later frame costs beside the network (decoding, flows, masks, warps, planning, saving
    and measuring the frame before). Setup (the network, the style targets, the shot plan)
    comes before the first frame and is not counted."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._left: float | None = None

    def wrap(self, stylize: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(stylize)
        def timed(*args: Any, coarse_to_fine: bool = False, **kwargs: Any) -> Any:
            if self._left is not None and not coarse_to_fine:
                self.gaps.append(time.process_time() - self._left)
            try:
                return stylize(*args, coarse_to_fine=coarse_to_fine, **kwargs)
            finally:
                self._left = time.process_time()

        return timed


def links_masks_too(links: Any) -> Motion:
    """flow.chained_motion, reliable only where every link is too (the product of the links'
    masks, sampled along the chain): the experiment that chained_motion's docstring reports."""
    chained = chained_motion(links)
    backward, broken = links[0].near_to_far, links[0].reliability.mask < 0.5
    for link in links[1:]:
        map_x = np.arange(backward.shape[1], dtype=np.float32)[None, :] + backward[..., 0]
        map_y = np.arange(backward.shape[0], dtype=np.float32)[:, None] + backward[..., 1]
        unreliable = (link.reliability.mask < 0.5).astype(np.uint8)
        broken |= cv2.remap(unreliable, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE) > 0
        backward = compose(backward, link.near_to_far)
    own = chained.reliability
    return Motion(chained.backward, Reliability(own.out_of_frame, own.disoccluded | broken, own.motion_boundary))


def chained_from_far_end(links: Any) -> Motion:
    """flow.chained_motion composed from the far end: the far links first, then the nearer
    ones in front (AccFlow's order), instead of link after link from the visited frame."""
    backward = links[-1].near_to_far
    for link in reversed(links[:-1]):
        backward = compose(link.near_to_far, backward)
    forward = links[0].far_to_near
    for link in links[1:]:
        forward = compose(link.far_to_near, forward)
    return Motion(backward=backward, reliability=reliability(backward, forward))


def ruders_masks(masks: list[np.ndarray], long_term_flow: str) -> list[np.ndarray]:
    """Ruder et al.'s rule whatever the flow: each neighbour only where the nearer ones are
    not reliable (flow.motion.long_term_masks; chained flows took it until 0.5.0)."""
    return long_term_masks(masks)


def shared_masks(masks: list[np.ndarray], long_term_flow: str) -> list[np.ndarray]:
    """Each neighbour pulls where its flow is reliable, the weights shared out so that they
    sum to at most 1 (as Ruder et al.'s do)."""
    total = np.maximum(np.sum(masks, axis=0), 1.0)
    return [mask / total for mask in masks]


def occluder_clip(folder: Path, frames: int, base: str = "pens") -> tuple[Path, list[np.ndarray], list[np.ndarray]]:
    """A clip (``base``) with a post crossing it: a vertical strip of The Great Wave, a tenth
    of the frame wide, moving a third of its width a frame. Each pixel it passes is hidden for
    about three frames and then seen again. Returns the clip, the frames without the post, and
    the post's masks (bool, at the clip's size)."""
    source, start = CLIPS[base]
    clean = [d.frame for d in read_frames(source, Segment(start=start, frames=frames))]
    height, width = clean[0].shape[:2]
    post_width = width // 10
    speed = max(1, post_width // 3)
    painting = imageops.read_image(ROOT / "samples" / "great_wave.jpg")
    strip = imageops.resize_frame(painting, post_width * 4, height)[:, :post_width]
    path = folder / f"{base}.post.mp4"
    masks: list[np.ndarray] = []
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "10", "preset": "ultrafast"}
        for index, frame in enumerate(clean):
            left = index * speed - post_width
            mask = np.zeros((height, width), bool)
            mask[:, max(0, left) : max(0, left + post_width)] = True
            picture = frame.copy()
            columns = np.arange(max(0, left), min(width, left + post_width))
            picture[:, columns] = strip[:, columns - left]
            masks.append(mask)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path, clean, masks


def post_at(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """The post's mask at the painted size."""
    return imageops.resize_frame(mask.astype(np.uint8)[..., None].repeat(3, 2) * 255, width, height)[..., 0] > 127


def reappearing_error(
    outputs: list[np.ndarray], clean: list[np.ndarray], masks: list[np.ndarray], gap: int
) -> float | None:
    """The warping error between frames ``gap`` apart over the pixels the post hid in between
    and that both frames see: where long-term consistency has to hold what short-term cannot.
    Flow (Farneback) and reliability from the frames without the post."""
    height, width = outputs[0].shape[:2]
    estimator = FlowEstimator("farneback")
    errors = []
    for i in range(gap, len(outputs)):
        hidden = np.zeros((height, width), bool)
        for between in range(i - gap + 1, i):
            hidden |= post_at(masks[between], width, height)
        seen = ~post_at(masks[i], width, height) & ~post_at(masks[i - gap], width, height)
        source, earlier = (imageops.resize_frame(clean[k], width, height) for k in (i, i - gap))
        motion = measure_motion(estimator, source, {0: earlier}).towards[0]
        region = hidden & seen & (motion.reliability.mask > 0)
        if region.sum() < 16:
            continue
        warped = warp(outputs[i - gap], motion.backward) / 255.0
        difference = (outputs[i].astype(np.float32) / 255.0 - warped) ** 2
        errors.append(float(difference[region].mean()))
    return float(np.mean(errors)) if errors else None


def long_term_flow_run(
    clip: Path,
    start: Fraction,
    frames: int,
    style: Path,
    size: int,
    options: dict[str, Any],
    chained: Any,
    masks_rule: Any = frame_plan.neighbour_masks,
) -> dict[str, Any]:
    flows, encoding, between = CoreSeconds(), CoreSeconds(), BetweenLaterFrames()
    with (
        replaced(frame_plan, "neighbour_masks", masks_rule),
        replaced(Stylizer, "stylize", between.wrap(Stylizer.stylize)),
        replaced(prefetch.MotionPrefetcher, "_measure", flows.wrap(prefetch.MotionPrefetcher._measure)),
        replaced(prefetch, "chained_motion", chained),
        replaced(pipeline, "encode_output", encoding.wrap(pipeline.encode_output)),
    ):
        rendered = render_kept(clip, style, frames, size, {"start": start, **options})
    outputs, records = rendered.outputs, rendered.records
    height, width = outputs[0].shape[:2]
    sources = [
        imageops.resize_frame(d.frame, width, height) for d in read_frames(clip, Segment(start=start, frames=frames))
    ]
    later = [r for r in records if not r.fresh]
    metrics = measure(sources, outputs, styles=(style,), losses_every=2)
    return {
        "size": f"{width}x{height}",
        "frames": len(outputs),
        **{f"warp@{g}": warping_error_at_gap(sources, outputs, g, JUDGE) for g in LONG_TERM_GAPS},
        "style loss": metrics.style_loss,
        "flow core-s/frame": flows.seconds / len(later),
        # The last frame's saving and measuring fall after the last gap: each gap holds one.
        "not network core-s/frame": float(np.mean(between.gaps)) + encoding.seconds / len(outputs),
        "evaluations/later frame": float(np.mean([r.evaluations or r.iterations for r in later])),
        "s/later frame": float(np.mean([r.seconds for r in later])),
        "outputs": outputs,
    }


def _cell(column: str, value: float | None) -> str:
    width = max(11, len(column) + 1)
    if value is None:
        return f"{'-':>{width}}"
    return f"{value:>{width}.3e}" if column.startswith(("warp", "reappear")) else f"{value:>{width}.3f}"


RULE = frame_plan.neighbour_masks  # the render's own: direct flows Ruder et al.'s, chained each its own
# Runs of the 384 px table (benchmarks/results/long_term_flow.384px...json) under the names they had
# there: "chained, own masks" is the default since 0.5.0, "chained" (Ruder et al.'s masks) was before.
VARIANTS: dict[str, tuple[dict[str, Any], Any, Any]] = {
    "direct": ({"long_term_flow": "direct"}, chained_motion, RULE),
    "chained": ({"long_term_flow": "chained"}, chained_motion, ruders_masks),
    "chained, links' masks too": ({"long_term_flow": "chained"}, links_masks_too, ruders_masks),
    "chained from the far end": ({"long_term_flow": "chained"}, chained_from_far_end, ruders_masks),
    "chained, own masks": ({"long_term_flow": "chained"}, chained_motion, RULE),
    "chained, shared masks": ({"long_term_flow": "chained"}, chained_motion, shared_masks),
    "direct, shared masks": ({"long_term_flow": "direct"}, chained_motion, shared_masks),
    "no long-term (1)": ({"long_term": (1,)}, chained_motion, RULE),
}
COLUMNS = (
    "warp@1", "warp@2", "warp@4", "reappear@2", "reappear@4", "style loss", "flow core-s/frame",
    "not network core-s/frame", "evaluations/later frame", "s/later frame",
)  # fmt: skip


def long_term_flow_rows(
    clips: list[str], size: int, frames: int, style: Path, runs: list[str] | None, pictures: Path | None = None
) -> list[dict[str, Any]]:
    """The long-term flows and mask rules of ``VARIANTS`` (or ``runs`` of them) on ``clips``
    (pens, film; post and film-post: the same with a post crossing them); prints a table per
    clip and returns its rows, each with the share of direct flows' gain over ``--long-term 1``
    it keeps between frames 4 apart and where the post has passed."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        chosen: dict[str, tuple[Path, Fraction, Any]] = {
            name: (*CLIPS[name], None) for name in ("pens", "film") if name in clips
        }
        for name, base in (("post", "pens"), ("film-post", "film")):
            if name in clips:
                post, clean, masks = occluder_clip(Path(tmp), frames, base)
                chosen[f"{base} with a post"] = (post, Fraction(0), (clean, masks))
        for clip_name, (clip, start, hidden) in chosen.items():
            print(f"\n{clip_name}: {frames} frames, long side {size} px; warp@N judged by Farneback")
            print(f"{'run':<26}" + "".join(f"{c:>{max(11, len(c) + 1)}}" for c in COLUMNS), flush=True)
            clip_rows: list[dict[str, Any]] = []
            for name, (options, chained, rule) in VARIANTS.items():
                if runs is not None and name not in runs:
                    continue
                result = long_term_flow_run(clip, start, frames, style, size, options, chained, rule)
                outputs = result.pop("outputs")
                for gap in (2, 4):
                    reappear = reappearing_error(outputs, hidden[0], hidden[1], gap) if hidden else None
                    result[f"reappear@{gap}"] = reappear
                clip_rows.append({"clip": clip_name, "run": name, **result})
                print(f"{name:<26}" + "".join(_cell(c, result[c]) for c in COLUMNS), flush=True)
                if pictures is not None:
                    save_picture(pictures, f"long-term-flow.{clip_name}.{name}.{size}", np.hstack(outputs[:4]))
            rows += gains_kept(clip_rows)
    return rows


def gains_kept(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with ``kept@4`` and ``kept reappear@4``: the share of direct flows' gain over
    ``--long-term 1`` (its error minus the row's, over its error minus direct's) it keeps."""
    by_run = {row["run"]: row for row in rows}
    one, direct = by_run.get("no long-term (1)"), by_run.get("direct")
    for row in rows:
        for column, measured in (("kept@4", "warp@4"), ("kept reappear@4", "reappear@4")):
            base, best, own = (r[measured] if r else None for r in (one, direct, row))
            if base is None or best is None or own is None or base == best:
                row[column] = None
                continue
            row[column] = (base - own) / (base - best)
        if row["kept@4"] is not None:
            reappear = row["kept reappear@4"]
            where = f", {reappear:.0%} where the post passed" if reappear is not None else ""
            print(f"{row['run']:<26} keeps {row['kept@4']:.0%} of direct's gain 4 frames apart{where}")
    return rows


def long_term_flow_study(args: argparse.Namespace) -> None:
    rows = long_term_flow_rows(args.clips, args.size, args.frames, args.style, args.runs, args.pictures)
    every = args.runs is None and set(args.clips) >= {*CLIPS, "post"}
    name = f"long_term_flow.{args.size}px" + ("" if every else ".part")
    path = write_results(name, {"machine line": machine_line(), "rows": rows})
    print(f"\n{machine_line()}\nwrote {path.relative_to(ROOT)}")


# --- long shots in chunks (--chunk-frames): the seams, with and without their repair ---


def chunked_render(clip: Path, start: Fraction, style: Path, frames: int, options: dict[str, Any]) -> dict[str, Any]:
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


def chunks_study(args: argparse.Namespace) -> None:
    """Renders the first frames of one real shot twice with the same settings: whole, and split
    into chunks that start fresh. The chunked render is measured twice: once all its chunks are
    done (their seams not yet repaired), and at the end (seams repaired). Each is measured on
    the saved lossless frames: the warping error of every frame pair; the pairs across a seam
    against the mean of all pairs inside chunks ("inside"), and against the mean of those away
    from the seams ("steady": the 8 pairs after each seam, where a repair hands over, left out;
    "window" is their mean); the style loss; and the loss evaluations per frame."""
    for clip_name in (name for name in args.clips if name in CLIPS):
        clip, start = CLIPS[clip_name]
        options = {"size": args.size, "tolerance": 0.0}
        starts = chunk_starts(Shot(0, 0, args.frames), args.chunk_frames, frozenset())[1:]
        print(
            f"{clip.name} from {float(start):.1f} s, {args.frames} frames, long side {args.size} px; seams at {starts}"
        )

        whole = chunked_render(clip, start, args.style, args.frames, {**options, "chunk_frames": 0})
        chunked = chunked_render(clip, start, args.style, args.frames, {**options, "chunk_frames": args.chunk_frames})
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
                f"{name:<26}{shown:>20}{inside:>10.2e}{max(seams) / inside:>9.2f}{steady:>10.2e}"
                f"{max(seams) / steady:>9.2f}{in_window:>10.2e}{style:>8.4f}{cost:>12}",
                flush=True,
            )
            if args.pictures is not None:
                for s in starts:
                    save_picture(args.pictures, f"seam{s}.{name}", np.hstack(outputs[s - 2 : s + 3]))


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("study", choices=("passes", "long-term", "long-term-flow", "loop", "chunks"))
    parser.add_argument(
        "--clips",
        nargs="+",
        default=[*CLIPS, "post"],
        choices=[*CLIPS, "post", "film-post"],
        help="post, film-post: pens or the film with a post crossing it (long-term-flow only)",
    )
    parser.add_argument("--runs", nargs="+", default=None, help="long-term-flow: these runs alone")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--chunk-frames", type=int, default=24, help="chunks: the chunks' length")
    parser.add_argument("--pictures", type=Path, default=None, help="folder for strips of each run's first frames")
    args = parser.parse_args()
    if args.study == "long-term-flow":
        long_term_flow_study(args)
        return
    if args.study == "chunks":
        chunks_study(args)
        return
    for clip_name in (name for name in args.clips if name in CLIPS):
        clip, start = CLIPS[clip_name]
        print(f"\n{clip_name}: {clip.name} from {float(start):.1f} s, {args.frames} frames, long side {args.size} px")
        header = f"{'run':<22}" + "".join(f"{'warp@' + str(g):>10}" for g in GAPS)
        print(f"{header}{'first 1-3':>10}{'seam':>10}{'style':>8}{'content':>8}{'it/frame':>9}{'s/frame':>8}")
        for run in runs_for(args.study):
            with run.context():
                result = render(clip, start, args.frames, args.style, args.size, run.options)
            gaps = "".join(
                f"{result['gaps'][g]:>10.3e}" if result["gaps"][g] is not None else f"{'-':>10}" for g in GAPS
            )
            print(
                f"{run.name:<22}{gaps}{result['first']:>10.3e}{result['seam']:>10.3e}{result['style']:>8.4f}"
                f"{result['content']:>8.3f}{result['iterations/frame']:>9.1f}{result['s/frame']:>8.2f}",
                flush=True,
            )
            if args.pictures is not None:
                save_picture(args.pictures, f"{args.study}.{clip_name}.{run.name}", result["strip"])


if __name__ == "__main__":
    main()
