"""The benchmark we steer by: vidstyle's defaults against per-frame Gatys stylization.

Renders the same frames of a real clip at the same size with the same style and loss
weights, twice:

- baseline: per-frame Gatys et al. stylization. Every frame on its own from the content, a
  fixed 500 L-BFGS iterations, no early stop, one scale, fp32, no temporal terms. This is not
  Ruder et al.'s video recipe, which spends 2000 evaluations on a first frame and 1000 on a
  later one (quoted beside the measured counts);
- defaults: vidstyle as a user runs it (the chosen --quality preset, bf16 where fast,
  warm starts, temporal loss, early stopping, coarse-to-fine first frames, flow ahead).

Prints wall time per frame, network evaluations per frame (also counted at full size, one at
half size a quarter: a cost that does not drift with the machine's load), mean style and
content loss (unweighted, measured the same way on both results) and warping error, and the
ratios.

The baseline takes long (12 to 16 minutes a frame at 480 px on a 2-core CPU); its results
are cached in benchmarks/.cache/ under a key of everything that shapes them, so that
tuning the defaults reruns only the defaults. --fresh ignores the cache.

    python benchmarks/bench_video.py [--size 480] [--frames 6] [--quality normal] [--no-baseline]
        [--pictures DIR] [--set iterations=100 ...]

--set KEY=VALUE measures a variant of the defaults: any of stylize_video's options, the value
read as JSON where it parses (numbers, true/false) and as text otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from common import parser_for, render_kept, save_picture  # beside this script

from vidstyle.metrics import measure
from vidstyle.settings import LossWeights
from vidstyle.video_io import Segment, read_frames

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"

BASELINE = {
    "temporal_weight": 0.0,
    "temporal_init": "content",
    "frame_iterations": 500,
    "iterations": 500,
    "tolerance": 0.0,
    "scales": 1,
    "precision": "fp32",
    "cut_threshold": 0.0,
}

# Ruder et al. 2016: 2000 iterations for a first frame, 1000 for a later one
# (their L-BFGS evaluates once per iteration).
RUDER_EVALUATIONS = {"first": 2000, "later": 1000}


def run(
    clip: Path, style: Path, frames: int, size: int, options: dict[str, Any], pictures: Path | None = None
) -> dict[str, Any]:
    """Render, then measure the saved (lossless) frames against the source frames; with
    ``pictures``, write each frame there to look at (``NNN.png``)."""
    rendered = render_kept(clip, style, frames, size, options)
    if pictures is not None:
        for index, picture in enumerate(rendered.outputs):
            save_picture(pictures, f"{index:03d}", picture)
    report, records, seconds = rendered.report, rendered.records, rendered.seconds
    sources = [f.frame for f in read_frames(clip, Segment(frames=frames))]
    metrics = measure(sources, rendered.outputs, styles=(style,))
    return {
        "frames": report.frames,
        "width": report.painted_width,
        "height": report.painted_height,
        "seconds_per_frame": seconds / report.frames,
        "render_seconds_per_frame": report.render_seconds / report.frames,
        "evaluations_per_frame": float(np.mean([r.iterations for r in records])),
        "full_size_evaluations_per_frame": float(np.mean([r.evaluations for r in records])),
        "first_frame_evaluations": records[0].evaluations,
        "later_frame_evaluations": float(np.mean([r.evaluations for r in records[1:]])) if len(records) > 1 else None,
        "first_frame_seconds": records[0].seconds,
        "later_frame_seconds": float(np.mean([r.seconds for r in records[1:]])) if len(records) > 1 else None,
        "style_loss": metrics.style_loss,
        "content_loss": metrics.content_loss,
        "warping_error": metrics.warping_error,
    }


def cached_baseline(
    clip: Path, style: Path, frames: int, size: int, fresh: bool, pictures: Path | None = None
) -> dict[str, Any]:
    key_source = json.dumps(
        {
            "clip": [clip.name, clip.stat().st_size],
            "style": [style.name, style.stat().st_size],
            "frames": frames,
            "size": size,
            "options": BASELINE,
            # Results depend on the engine's code too: after changing it, rerun with --fresh.
            "loss_weights": repr(LossWeights()),
        },
        sort_keys=True,
    )
    path = CACHE / f"baseline-{hashlib.sha256(key_source.encode()).hexdigest()[:16]}.json"
    if path.exists() and not fresh:
        print(f"(baseline from cache {path.relative_to(ROOT)})")
        return dict(json.loads(path.read_text()))
    result = run(clip, style, frames, size, BASELINE, pictures)
    CACHE.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    return result


def option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` from the command line: the value as JSON where it parses, else as text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    name = key.replace("-", "_")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--size", type=int, default=480, help="long side in pixels (default 480)")
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--quality", default="normal", help="vidstyle preset to measure (default normal)")
    parser.add_argument("--fresh", action="store_true", help="rerun the baseline even if cached")
    parser.add_argument(
        "--no-baseline", action="store_true", help="measure the defaults only (the baseline takes 90 minutes)"
    )
    parser.add_argument(
        "--pictures",
        type=Path,
        help="write the frames as PNG to look at: DIR/defaults/, and DIR/baseline/ when it is rendered (not cached)",
    )
    parser.add_argument(
        "--set",
        type=option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a stylize_video option for the defaults' render (repeatable), e.g. --set iterations=100",
    )
    args = parser.parse_args()
    variant = dict(args.set)
    for own in ("size", "frames", "quality"):
        if own in variant:
            parser.error(f"--set {own}=... : use --{own}")
    pictures = {name: args.pictures / name if args.pictures else None for name in ("defaults", "baseline")}

    options = {"quality": args.quality, **variant}
    defaults = run(args.clip, args.style, args.frames, args.size, options, pictures["defaults"])
    if args.no_baseline:
        print(json.dumps(defaults, indent=2))
        return
    baseline = cached_baseline(args.clip, args.style, args.frames, args.size, args.fresh, pictures["baseline"])
    width, height = defaults["width"], defaults["height"]
    print(f"clip {args.clip.name}, first {args.frames} frames at {width}x{height}, style {args.style.name}")
    print("baseline: per-frame Gatys stylization: content start, 500 L-BFGS iterations, fp32, no temporal terms")
    changed = "".join(f" {key}={value}" for key, value in variant.items())
    print(f"defaults: vidstyle --quality {args.quality} --size {args.size}{changed}\n")
    rows = [
        ("wall s/frame", "seconds_per_frame", ".1f"),
        ("  first frame s", "first_frame_seconds", ".1f"),
        ("  later frames s", "later_frame_seconds", ".1f"),
        ("evaluations/frame", "evaluations_per_frame", ".0f"),
        ("  at full size", "full_size_evaluations_per_frame", ".1f"),
        ("  first frame", "first_frame_evaluations", ".1f"),
        ("  later frames", "later_frame_evaluations", ".1f"),
        ("style loss", "style_loss", ".4f"),
        ("content loss", "content_loss", ".4f"),
        ("warping error", "warping_error", ".3e"),
    ]
    print(f"{'':<20} {'baseline':>12} {'defaults':>12} {'defaults/baseline':>18}")
    for label, key, fmt in rows:
        a, b = baseline.get(key), defaults[key]
        ratio = f"{b / a:.3f}" if a and b is not None else ""
        cells = [format(v, fmt) if v is not None else "n/a" for v in (a, b)]
        print(f"{label:<20} {cells[0]:>12} {cells[1]:>12} {ratio:>18}")
    print(
        f"Ruder et al. spend {RUDER_EVALUATIONS['first']} evaluations on a first frame and "
        f"{RUDER_EVALUATIONS['later']} on a later one; the defaults spend "
        f"{defaults['first_frame_evaluations']:.0f} and {defaults['later_frame_evaluations'] or 0:.1f} (full size)"
    )
    speed = baseline["seconds_per_frame"] / defaults["seconds_per_frame"]
    print(f"\ndefaults take 1/{speed:.1f} of the baseline's time per frame")


if __name__ == "__main__":
    main()
