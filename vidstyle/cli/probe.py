"""``vidstyle probe``: what a video file holds, and its shots."""

from __future__ import annotations

from collections.abc import Sequence

from vidstyle.cli.parser import build_probe_parser
from vidstyle.cli.progress import progress_bar
from vidstyle.filetypes import is_image_path
from vidstyle.settings import TemporalSettings


def run_probe(argv: Sequence[str]) -> int:
    args = build_probe_parser().parse_args(argv)
    from vidstyle.shots import plan_shots
    from vidstyle.video_info import frame_timing, probe
    from vidstyle.video_io import Segment, expected_frame_count

    info = probe(args.file)
    if is_image_path(args.file):
        # A still image has no frame rate, duration, audio or shots to speak of.
        size = f"{info.width}x{info.height}"
        _print_rows([("file", str(info.path)), ("image", f"{info.codec}, {info.pixel_format}"), ("size", size)])
        return 0
    rate = frame_timing(args.file).describe(info.frame_rate)
    count = f"{info.frame_count}" + ("" if info.frame_count_exact else " (estimate)")
    duration = f"{float(info.duration):.3f} s" if info.duration is not None else "unknown"
    scan = ", interlaced" if info.interlaced else ""
    shape_notes = [f"rotated {info.rotation} deg for display"] if info.rotation else []
    if info.sample_aspect != 1:
        aspect = info.sample_aspect
        shape_notes.append(f"pixels {aspect.numerator}:{aspect.denominator}, read as square ones")
    rows = [
        ("file", str(info.path)),
        ("container", info.container),
        ("video", f"{info.codec}, {info.pixel_format}, {info.color_range} range{scan}"),
        ("colour", f"{info.transfer} transfer, {info.primaries} primaries" + (" (HDR)" if info.hdr else "")),
        ("size", f"{info.width}x{info.height}" + "".join(f" ({note})" for note in shape_notes)),
        ("frame rate", rate),
        ("frames", count),
        ("duration", duration),
        ("time base", str(info.time_base)),
    ]
    rows += [
        (f"audio #{a.index}", f"{a.codec}, {a.sample_rate} Hz, {a.channels} channel{'s' if a.channels != 1 else ''}")
        for a in info.audio
    ] or [("audio", "none")]
    rows += [(f"subtitles #{s.index}", s.codec + (f" ({s.language})" if s.language else "")) for s in info.subtitles]
    rows += [("chapters", str(info.chapters))] if info.chapters else []
    rows += [("attachments", ", ".join(info.attachments))] if info.attachments else []
    rows += [(f"meta {key}", value) for key, value in info.metadata.items()]
    expected = expected_frame_count(info, Segment())
    with progress_bar("frame", "planning shots", False) as bar:
        shots = plan_shots(
            args.file, Segment(), TemporalSettings(), info.frame_rate, lambda done: bar.count(done, expected)
        )
    rows += [("shots", str(len(shots.shots))), *shots.describe()]
    _print_rows(rows)
    return 0


def _print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
