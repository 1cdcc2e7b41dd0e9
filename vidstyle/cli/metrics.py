"""``vidstyle metrics``: how steady and how stylized a stylized video is."""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from vidstyle.cli.parser import build_metrics_parser
from vidstyle.cli.progress import progress_bar
from vidstyle.errors import UsageError
from vidstyle.settings import TemporalSettings

if TYPE_CHECKING:
    from vidstyle.metrics import VideoMetrics


def run_metrics(argv: Sequence[str]) -> int:
    args = build_metrics_parser().parse_args(argv)
    from vidstyle.metrics import check_same_picture, measure_videos, sampled_every
    from vidstyle.video_info import probe
    from vidstyle.video_io import Segment, expected_frame_count

    if args.every is not None and args.every < 1:
        raise UsageError("--every must be at least 1")
    temporal = TemporalSettings(cut_threshold=args.cut_threshold)
    source_info, stylized_info = probe(args.source), probe(args.stylized)
    check_same_picture(source_info.width, source_info.height, stylized_info.width, stylized_info.height)
    expected = expected_frame_count(stylized_info, Segment())  # the whole stylized file is measured
    every = args.every or sampled_every(expected)
    with progress_bar("frame", "measuring", args.json) as bar:
        result = measure_videos(
            args.source,
            args.stylized,
            segment=Segment(start=args.start or Fraction(0), duration=args.duration, frames=args.frames),
            styles=tuple(args.style or ()),
            style_scale=args.style_scale,
            temporal=temporal,
            losses_every=every,
            on_frame=lambda done: bar.count(done, expected),
        )
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    for key, value in _rows(result, every, measured_style=bool(args.style)):
        print(f"{key:<14} {value}")
    return 0


def _number(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def _rows(result: VideoMetrics, every: int, *, measured_style: bool) -> list[tuple[str, str]]:
    """The table ``vidstyle metrics`` prints: each measure with what it is measured against."""
    from vidstyle.metrics import MEASURE_FLOW_LONG_SIDE

    number = _number
    style_scale = (
        f" (the unpainted source: {number(result.source_style_loss, '.4f')}; lower is nearer the painting; "
        f"on {-(-result.frames // every)} frames, every {every}th)"
    )
    long_side = min(max(result.width, result.height), MEASURE_FLOW_LONG_SIDE)
    return [
        ("frames", f"{result.frames} at {result.width}x{result.height}"),
        (
            "warping error",
            f"{number(result.warping_error, '.3e')} ({_steadiness(result.warping_error, result.source_warping_error)}; "
            f"the source itself: {number(result.source_warping_error, '.3e')}; lower is steadier; mean over "
            f"{len(result.warping_errors)} frame pairs, measured at {long_side} px)",
        ),
        (
            "style loss",
            number(result.style_loss, ".4f") + (style_scale if measured_style else " (give --style to measure)"),
        ),
        (
            "content loss",
            number(result.content_loss, ".4f")
            + (" (the source itself: 0; higher is more painted over)" if measured_style else ""),
        ),
        (
            "border line",
            f"{number(result.border_line, '.2f')} (source {number(result.source_border_line, '.2f')}; "
            "about 1-4 without a line along the edges)",
        ),
        ("shot cuts", ", ".join(map(str, result.cuts)) or "none"),
    ]


def _steadiness(error: float | None, source_error: float | None) -> str:
    """A verdict on a warping error, against the source's own: a painting that follows the
    motion changes between frames about as much as the footage does. Measured on pens.mp4 at
    176 px (2026-12-05): a render at the defaults 1.2x the source's, its frames painted one by
    one 135x; a panned picture at 640x360, delivered by the detail pass, 0.6x."""
    if error is None or not source_error:
        return "no frame pairs to judge"
    ratio = error / source_error
    verdict = "steady" if ratio <= 3 else "some flicker" if ratio <= 30 else "flickers"
    return f"{verdict}: {ratio:.1f}x the source's"
