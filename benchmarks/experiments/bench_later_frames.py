"""Later frames: what each iteration budget buys, on the same frames in one run.

Renders the same frames of a real clip once per later-frame budget (``--budgets 50,15``;
everything else at the --quality preset's defaults, the first frame included) and measures
the lossless frames: style and content loss (unweighted, mirrored edges, as ``vidstyle
metrics``), warping error, seconds and full-size evaluations per later frame, and the first
frame's seconds. It writes chosen frames as PNG (``--pictures``) so that the results can be
looked at side by side. ``--later-adam`` optimizes later frames with Adam;
``--direct`` renders each budget again with oneDNN's direct convolutions instead of Winograd's
(vidstyle/winograd.py). ``--nudges N`` renders each of those N more times with the first
frame's start moved by 1e-6 (noise from seed 1 ... N): how far rounding alone moves a render.

    python benchmarks/experiments/bench_later_frames.py --frames 10 --size 176 --budgets 50,15
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/, for common
from common import parser_for, render_kept, replaced, save_picture

from vidstyle import winograd
from vidstyle.metrics import measure
from vidstyle.stylizer import StylizedFrame, Stylizer
from vidstyle.video_io import Segment, read_frames

ROOT = Path(__file__).resolve().parent.parent.parent


def adam_for_later_frames(learning_rate: float | None) -> Callable[..., StylizedFrame]:
    """Stylizer.stylize with Adam for the frames that start from an earlier one (no
    coarse-to-fine) and the stylizer's own optimizer for the others."""
    stylize = Stylizer.stylize

    def later_by_adam(self: Stylizer, *args: Any, coarse_to_fine: bool = False, **kwargs: Any) -> StylizedFrame:
        if coarse_to_fine:
            return stylize(self, *args, coarse_to_fine=True, **kwargs)
        own = self.optimizer
        rate = learning_rate or own.learning_rate
        self.optimizer = dataclasses.replace(own, optimizer="adam", learning_rate=rate)
        try:
            return stylize(self, *args, **kwargs)
        finally:
            self.optimizer = own

    return later_by_adam


def nudged_first_frames(seed: int) -> Callable[..., torch.Tensor]:
    """Stylizer.first_frame_init with noise of 1e-6 added: a start that differs by rounding."""
    first_frame_init = Stylizer.first_frame_init

    def nudged(self: Stylizer, *args: Any, **kwargs: Any) -> torch.Tensor:
        start = first_frame_init(self, *args, **kwargs)
        noise = torch.randn(start.shape, generator=torch.Generator().manual_seed(seed))
        return start + 1e-6 * noise.to(start)

    return nudged


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--start", type=float, default=0.0, help="seconds into the clip")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--size", type=int, default=176)
    parser.add_argument("--quality", default="normal")
    parser.add_argument("--budgets", default="50,15", help="later-frame iteration budgets, comma-separated")
    parser.add_argument("--optimizer", default=None, help="lbfgs or adam, every frame (default: vidstyle's)")
    parser.add_argument(
        "--later-adam", action="store_true", help="Adam for later frames only, after an L-BFGS first frame (--lr)"
    )
    parser.add_argument("--lr", type=float, default=None, help="Adam's learning rate (default: vidstyle's)")
    parser.add_argument("--first-iterations", type=int, default=None, help="the first frame's budget (default: preset)")
    parser.add_argument(
        "--direct", action="store_true", help="render each budget again with direct convolutions (no Winograd)"
    )
    parser.add_argument(
        "--nudges", type=int, default=0, help="render each variant N more times from first frames moved by 1e-6"
    )
    parser.add_argument("--pictures", type=Path, default=None, help="write each render's frames here as PNG")
    args = parser.parse_args()

    segment = Segment(start=Fraction(args.start).limit_denominator(1000), frames=args.frames)
    sources = [decoded.frame for decoded in read_frames(args.clip, segment)]
    optimizer = f", --optimizer {args.optimizer}" if args.optimizer else ""
    optimizer += f" --lr {args.lr:g}" if args.lr else ""
    where = f"{args.frames} frames from {args.start:g} s at {args.size} px"
    print(f"{args.clip.name}: {where}, --quality {args.quality}{optimizer}")
    header = (
        "later-frame budget | s/later frame | evaluations (full size) | style | content | warping error | first frame s"
    )
    print(header)
    print("|".join("---" for _ in header.split("|")))
    for budget in (int(b) for b in args.budgets.split(",")):
        options = {
            "start": args.start,
            "quality": args.quality,
            "frame_iterations": budget,
            "optimizer": args.optimizer,
            "learning_rate": args.lr,
            "iterations": args.first_iterations,
        }
        Change = Callable[[], contextlib.AbstractContextManager[None]]
        renders: dict[str, list[Change]] = {"": []}
        if args.later_adam:
            renders = {" (Adam later)": [lambda: replaced(Stylizer, "stylize", adam_for_later_frames(args.lr))]}
        if args.direct:
            renders[" (direct)"] = [lambda: replaced(winograd, "wins_for", lambda conv: False)]
        for label, changes in list(renders.items()):
            for seed in range(1, args.nudges + 1):
                nudge = functools.partial(replaced, Stylizer, "first_frame_init", nudged_first_frames(seed))
                renders[f"{label} (nudged {seed})"] = [*changes, nudge]
        for label, changes in renders.items():
            with contextlib.ExitStack() as stack:
                for change in changes:
                    stack.enter_context(change())
                rendered = render_kept(args.clip, args.style, args.frames, args.size, options)
            metrics = measure(sources, rendered.outputs, styles=(args.style,))
            later = [r for r in rendered.records if not r.fresh]
            print(
                f"{budget}{label} | {np.mean([r.seconds for r in later]):.2f} | "
                f"{np.mean([r.evaluations for r in later]):.1f} | {metrics.style_loss:.4f} | "
                f"{metrics.content_loss:.4f} | {metrics.warping_error:.3e} | {rendered.records[0].seconds:.1f}",
                flush=True,
            )
        if args.pictures is not None:
            for index, frame in enumerate(rendered.outputs):
                save_picture(args.pictures, f"budget{budget}_{index:03d}", frame)


if __name__ == "__main__":
    main()
