"""vidstyle's L-BFGS against Adam with an average of its iterates, on a later frame.

The frame before is stylized as the defaults do a shot's first frame (normal preset,
coarse-to-fine). The later frame then starts from it warped along the flow (holes filled),
held by the temporal term towards it, as a render plans it. For each budget of network
evaluations the same objective is optimized by vidstyle's L-BFGS (fixed step, one evaluation
an iteration) and by Adam on the pixels at a few learning rates, its result the last iterate
or an exponential moving average of the iterates (as in crowsonkb/style-transfer-pytorch).
Prints the objective (the total loss with the temporal term) and its style part, measured
the same way for every result.

    python benchmarks/bench_adam.py [--frame 30] [--size 176] [--budgets 15,50]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from vidstyle import imageops
from vidstyle.config import OptimizerSettings, build_job
from vidstyle.flow import FlowEstimator, measure_motion
from vidstyle.optimize import LOSS_PART_NAMES, StyleObjective, TemporalTerm, stylize_frame
from vidstyle.shots import Shot
from vidstyle.stylizer import Stylizer
from vidstyle.temporal import FramePlanner, Visit
from vidstyle.video_io import Segment, read_frames

ROOT = Path(__file__).resolve().parent.parent
LEARNING_RATES = (0.01, 0.02, 0.04, 0.08)
AVERAGE_DECAY = 0.8  # over 15 to 50 steps; crowsonkb's 0.99 would still be mostly the start


def adam(
    objective: StyleObjective,
    target: torch.Tensor,
    init: torch.Tensor,
    terms: list[TemporalTerm],
    evaluations: int,
    lr: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Adam on the pixels (kept in [0, 1]) for ``evaluations`` steps: the last iterate and
    the moving average of the iterates. ``target``: the content's features."""
    image = init.clone().requires_grad_(True)
    average = init.clone()
    optimizer = torch.optim.Adam([image], lr=lr, betas=(0.9, 0.99))
    for _ in range(evaluations):
        optimizer.zero_grad()
        total, _ = objective.evaluate(image, target, terms)
        (total * objective.gradient_scale).backward()
        optimizer.step()
        with torch.no_grad():
            image.clamp_(0.0, 1.0)
            average.mul_(AVERAGE_DECAY).add_(image, alpha=1 - AVERAGE_DECAY)
    return image.detach(), average


def score(
    objective: StyleObjective, target: torch.Tensor, image: torch.Tensor, terms: list[TemporalTerm]
) -> tuple[float, float]:
    """(total loss, its style part) of ``image``."""
    with torch.no_grad():
        _, parts = objective.evaluate(image, target, terms)
    values = dict(zip(LOSS_PART_NAMES, parts.tolist(), strict=True))
    return values["total"], values["style"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=ROOT / "samples" / "pens.mp4")
    parser.add_argument("--style", type=Path, default=ROOT / "samples" / "starry_night.jpg")
    parser.add_argument("--frame", type=int, default=30, help="the later frame (the one before it starts the shot)")
    parser.add_argument("--size", type=int, default=None, help="long side (default: the clip's own)")
    parser.add_argument("--budgets", default="15,50", help="network evaluations, comma-separated")
    args = parser.parse_args()

    job = build_job([args.style], size=args.size)
    sources = [f.frame for f in read_frames(args.clip, Segment(frames=args.frame + 1))]
    width, height = job.processing_size(sources[0].shape[1], sources[0].shape[0], still=False)
    before, current = (imageops.resize_frame(f, width, height) for f in sources[-2:])
    stylizer = Stylizer(job.style, job.losses, job.optimizer, job.engine, content_size=(width, height))
    objective = stylizer.objective
    previous = stylizer.stylize(
        before, stylizer.to_optimization_space(before), iterations=job.optimizer.iterations, coarse_to_fine=True
    )
    planner = FramePlanner(job.temporal, Shot(0, 0, 2))
    motion = measure_motion(FlowEstimator(job.temporal.flow, job.temporal.dis_preset), current, {0: before})
    plan = planner.plan(Visit(1, 1, 1), current, motion, {0: previous.frame}.get)
    assert plan.init is not None
    content = stylizer.to_optimization_space(current)
    init = stylizer.to_optimization_space(plan.init)
    terms = [
        TemporalTerm(
            warped=stylizer.to_optimization_space(w.warped),
            mask=torch.from_numpy(w.mask)[None, None].to(stylizer.device),
        )
        for w in plan.warps
    ]
    target = objective.content_features(content)  # once, for every optimizer and every score
    start_total, start_style = score(objective, target, init, terms)
    print(f"{args.clip.name} frame {args.frame} at {width}x{height}, {args.style.name}; the frame before stylized")
    print(f"as a first frame, this one started from it warped (reliable: {plan.coverage:.0%})\n")
    print(f"{'optimizer':<34} {'evaluations':>11} {'total loss':>11} {'style':>8}")
    print(f"{'(the warped start)':<34} {0:>11} {start_total:>11.4f} {start_style:>8.4f}")
    settings = OptimizerSettings(tolerance=0.0)
    for budget in (int(b) for b in args.budgets.split(",")):
        result = stylize_frame(
            objective, content, init, settings, iterations=budget, temporal=terms, content_target=target
        )
        total, style = score(objective, target, result.image, terms)
        print(f"{'L-BFGS (vidstyle)':<34} {budget:>11} {total:>11.4f} {style:>8.4f}")
        for lr in LEARNING_RATES:
            last, average = adam(objective, target, init, terms, budget, lr)
            for name, image in (("last", last), (f"average {AVERAGE_DECAY}", average)):
                total, style = score(objective, target, image, terms)
                print(f"{f'Adam lr {lr}, {name}':<34} {budget:>11} {total:>11.4f} {style:>8.4f}")


if __name__ == "__main__":
    main()
