"""The picture of what each --quality preset buys: style loss and warping error against
seconds per frame, for every preset and for per-frame Gatys stylization (bench_video.py's
baseline), each measured by bench_video.py's own ``run`` on the same frames.

    python docs/presets_plot.py [--size 176] [--frames 6]

Writes docs/presets.json (the figures) and docs/presets.png (the picture, drawn with OpenCV:
the project has no plotting library). The baseline is cached as bench_video.py caches it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_video import cached_baseline, run  # noqa: E402  (beside this repository's benchmarks)

from vidstyle.options import PRESETS  # noqa: E402

PANEL_W, PANEL_H, MARGIN = 520, 360, 70
INK, GRID, POINT, BASELINE = (30, 30, 30), (215, 215, 215), (180, 90, 20), (40, 40, 200)


def measure_all(size: int, frames: int) -> dict[str, dict[str, Any]]:
    clip, style = ROOT / "samples" / "pens.mp4", ROOT / "samples" / "starry_night.jpg"
    results: dict[str, dict[str, Any]] = {}
    for preset in PRESETS:
        print(f"{preset} ...", flush=True)
        results[preset] = run(clip, style, frames, size, {"quality": preset})
    print("per-frame Gatys ...", flush=True)
    results["per-frame Gatys"] = cached_baseline(clip, style, frames, size, fresh=False)
    return results


def _ticks(low: float, high: float, log: bool) -> list[float]:
    if log:
        return [
            10.0**k * m for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1) for m in (1, 2, 5)
        ]
    rough = (high - low) / 5
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    return list(np.arange(math.floor(low / step) * step, high + step, step))


def _panel(results: dict[str, dict[str, Any]], key: str, title: str, log_y: bool) -> np.ndarray:
    """One scatter plot: ``key`` against seconds per frame (log), each point named."""
    image = np.full((PANEL_H + 2 * MARGIN, PANEL_W + 2 * MARGIN, 3), 255, np.uint8)
    xs = {name: r["seconds_per_frame"] for name, r in results.items()}
    ys = {name: r[key] for name, r in results.items()}
    x_low, x_high = min(xs.values()) / 1.6, max(xs.values()) * 1.6
    y_values = list(ys.values())
    if log_y:
        y_low, y_high = min(y_values) / 1.6, max(y_values) * 1.6
    else:
        spread = max(y_values) - min(y_values)
        y_low, y_high = min(y_values) - 0.25 * spread, max(y_values) + 0.25 * spread

    def at(x: float, y: float) -> tuple[int, int]:
        fx = (math.log(x) - math.log(x_low)) / (math.log(x_high) - math.log(x_low))
        fy = (
            (math.log(y) - math.log(y_low)) / (math.log(y_high) - math.log(y_low))
            if log_y
            else (y - y_low) / (y_high - y_low)
        )
        return MARGIN + round(fx * PANEL_W), MARGIN + PANEL_H - round(fy * PANEL_H)

    font = cv2.FONT_HERSHEY_SIMPLEX
    for tick in _ticks(x_low, x_high, log=True):
        if x_low <= tick <= x_high:
            x, _ = at(tick, y_low)
            cv2.line(image, (x, MARGIN), (x, MARGIN + PANEL_H), GRID, 1)
            cv2.putText(image, f"{tick:g}", (x - 12, MARGIN + PANEL_H + 22), font, 0.45, INK, 1, cv2.LINE_AA)
    for tick in _ticks(y_low, y_high, log=log_y):
        if y_low <= tick <= y_high:
            _, y = at(x_low, tick)
            cv2.line(image, (MARGIN, y), (MARGIN + PANEL_W, y), GRID, 1)
            label = f"{tick:.0e}" if log_y else f"{tick:.3f}"
            cv2.putText(image, label, (4, y + 5), font, 0.42, INK, 1, cv2.LINE_AA)
    cv2.rectangle(image, (MARGIN, MARGIN), (MARGIN + PANEL_W, MARGIN + PANEL_H), INK, 1)
    cv2.putText(image, title, (MARGIN, MARGIN - 22), font, 0.6, INK, 1, cv2.LINE_AA)
    cv2.putText(
        image, "seconds per frame (log)", (MARGIN + PANEL_W // 2 - 90, MARGIN + PANEL_H + 50), font, 0.5, INK, 1,
        cv2.LINE_AA,
    )  # fmt: skip
    for name in results:
        x, y = at(xs[name], ys[name])
        colour = BASELINE if name == "per-frame Gatys" else POINT
        cv2.circle(image, (x, y), 6, colour, -1, cv2.LINE_AA)
        cv2.putText(image, name, (x + 9, y - 8), font, 0.5, colour, 1, cv2.LINE_AA)
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=176, help="long side in pixels (default 176: the clip's own)")
    parser.add_argument("--frames", type=int, default=6)
    args = parser.parse_args()
    results = measure_all(args.size, args.frames)
    (ROOT / "docs" / "presets.json").write_text(json.dumps(results, indent=2) + "\n")
    for name, r in results.items():
        print(f"{name:<16} {r['seconds_per_frame']:8.1f} s/frame  style {r['style_loss']:.4f}  "
              f"content {r['content_loss']:.3f}  warping error {r['warping_error']:.2e}")  # fmt: skip
    size = f"{results['normal']['width']}x{results['normal']['height']}"
    picture = np.hstack(
        [
            _panel(results, "style_loss", f"style loss, first {args.frames} frames of pens.mp4 at {size}", False),
            _panel(results, "warping_error", "warping error (log)", True),
        ]
    )
    cv2.imwrite(str(ROOT / "docs" / "presets.png"), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    main()
