"""How steady the detail pass's delivered frames are, on real footage, against the painted
frames' own steadiness: the same painted frames refined by each variant of the detail pass.

1. Paints the clip's part once with the command line (``--detail off --keep-frames``, at
   ``--size``; the source first resized to ``--width`` when given), kept in
   ``benchmarks/.cache/steadiness``.
2. Refines those painted frames at the delivered size with each variant (``--variants``),
   walking each shot forward as ``detail_pass.render_details`` does.
3. Measures each at the delivered size: the warping error (flow on the sources, enlarged
   from 480 px, Ruder et al.'s mask), beside the painted frames' own at their size and the
   Lanczos enlargement's; "pops", the largest mean change between consecutive delivered
   frames where the source is still (its own change under 1 grey level); the style loss at
   the delivered size (reflect-padded network) and the sharpness (mean |Laplacian|) of the
   first and the last frame; the seconds of a later frame.

With ``--per-frame``, the same part rendered frame by frame at both sizes as well
(``--temporal-weight 0 --temporal-init content``: each frame painted from its content and
delivered from its own enlargement), the baseline a steady render is judged against.

    python benchmarks/bench_steadiness.py --clip ../shared/assets/juggle_720p.mp4 --start 2 --size 320
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from common import ROOT, machine_line, parser_for, save_picture, write_results

from vidstyle import imageops
from vidstyle.backend import choose_backend
from vidstyle.config import build_job
from vidstyle.detail import DetailPainter, HeldDetail
from vidstyle.flow import FlowEstimator
from vidstyle.flow.motion import enlarged_mask, enlarged_motion, measure_link
from vidstyle.metrics import measure
from vidstyle.settings import TemporalSettings
from vidstyle.shots import ShotPlan
from vidstyle.sizes import fit_long_side
from vidstyle.video_io import Segment, read_frames
from vidstyle.warps import warp_stylized
from vidstyle.workdir import WorkDir, work_dir_for

CACHE = ROOT / "benchmarks" / ".cache" / "steadiness"


def painted_render(
    args: Any, options: tuple[str, ...] = ("--detail", "off"), run: str = "painted"
) -> tuple[Path, WorkDir]:
    """The clip's part painted at ``args.size`` with ``options`` (--detail off), its work folder kept."""
    name = f"{args.clip.stem}.{args.start}.{args.frames}.{args.size}.{args.width or 0}.{args.style.stem}"
    folder = CACHE / name
    folder.mkdir(parents=True, exist_ok=True)
    clip = args.clip
    if args.width:
        clip = folder / "source.mp4"
        if not clip.exists():
            resized_clip(args.clip, clip, args.start, args.frames, args.width)
    output = folder / f"{run}.mp4"
    work = WorkDir(work_dir_for(output))
    if not output.exists():
        start = [] if args.width else ["--start", str(args.start)]
        command = [sys.executable, "-m", "vidstyle", str(clip), "-s", str(args.style), "-o", str(output), "-y", "-q"]
        command += [*start, "--frames", str(args.frames), "--size", str(args.size), *options, "--keep-frames"]
        subprocess.run(command, check=True)
    return clip, work


def resized_clip(source: Path, path: Path, start: float, frames: int, width: int) -> None:
    """``frames`` frames of ``source`` from ``start`` s, resized to ``width``, nearly lossless."""
    import av

    decoded = [
        d.frame for _, d in zip(range(frames), read_frames(source, Segment(start=Fraction(str(start)))), strict=False)
    ]
    height = round(decoded[0].shape[0] * width / decoded[0].shape[1] / 2) * 2
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        stream.options = {"crf": "4"}
        for frame in decoded:
            small = imageops.resize_frame(frame, width, height)
            for packet in stream.encode(av.VideoFrame.from_ndarray(small, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def sharpness(frame: np.ndarray) -> float:
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


def pops(sources: list[np.ndarray], frames: list[np.ndarray]) -> list[float]:
    """Per consecutive pair: the mean |change| (grey levels) of the delivered frames where the
    source is still (its change, blurred, under 1 level)."""
    found = []
    for i in range(1, len(frames)):
        a, b = (cv2.GaussianBlur(s.astype(np.float32), (0, 0), 2.0) for s in (sources[i - 1], sources[i]))
        still = np.abs(a - b).max(axis=2) < 1.0
        change = np.abs(frames[i].astype(np.float32) - frames[i - 1].astype(np.float32)).mean(axis=2)
        found.append(float(change[still].mean()) if still.any() else 0.0)
    return found


class VariantPainter(DetailPainter):
    """The detail pass as a variant has it (``variant``):

    - ``current``: ``DetailPainter.refine`` as it is;
    - ``hold=K``: the same with ``DETAIL_HOLD`` K;
    - ``previous``: 0.6.0's later frame: two L-BFGS iterations from the warped start, the
      painting's temporal weight (200) in the loss, the first step seeded with the first
      frame's curvature scale, the better of the two evaluations kept;
    - ``per-frame``: every frame refined from its own enlargement, as a first frame is.
    """

    variant = "current"

    def refine_variant(self, painted: np.ndarray, held: HeldDetail | None) -> np.ndarray:
        if self.variant == "per-frame":
            return self.refine(painted).frame
        if self.variant.startswith("hold="):
            self.hold = float(self.variant.removeprefix("hold="))
        if self.variant != "previous" or held is None or self.curvature_scale is None:
            return self.refine(painted, held).frame
        return self.previous_later_frame(painted, held)

    def previous_later_frame(self, painted: np.ndarray, held: HeldDetail) -> np.ndarray:
        import math

        import torch

        from vidstyle.lbfgs import LBFGS
        from vidstyle.losses import temporal_loss

        assert self.curvature_scale is not None
        enlarged = imageops.enlarge_frame(painted, *self.size)
        image = self.colours.image(self.start(painted, held)).contiguous().clone().requires_grad_(True)
        target = self.colours.image(painted)
        warped, mask = self.colours.image(held.warped), torch.from_numpy(held.mask)[None, None].to(self.device)
        optimizer = LBFGS(image.numel(), history_size=1, device=self.device, dtype=torch.float32)
        optimizer.gamma.fill_(self.curvature_scale)
        optimizer.steps.fill_(1)
        best_loss, best = math.inf, image.detach().clone()
        for iteration in range(2):
            image.grad = None
            total, _ = self._loss(image, target)
            total = total + 200.0 * temporal_loss(image, warped, mask)
            total.backward()
            with torch.no_grad():
                assert image.grad is not None
                if float(total) < best_loss:
                    best_loss = float(total)
                    best.copy_(image)
                if iteration == 0:
                    optimizer.step(image.view(-1), image.grad.contiguous().view(-1))
        return self.colours.frame(best.clamp(0.0, 1.0), enlarged)


def steady_details(
    plan: ShotPlan,
    painted: list[np.ndarray],
    sources: list[np.ndarray],
    painter: VariantPainter,
    variant: str,
    timings: list[float],
) -> list[np.ndarray]:
    """Each shot walked forward as detail_pass.render_details walks it, frames in memory."""
    estimator = FlowEstimator(TemporalSettings().flow, TemporalSettings().dis_preset)
    delivered: list[np.ndarray] = []
    for shot in plan.shots:
        previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        for index in shot.frames:
            started = time.perf_counter()
            held = None
            if previous is not None:
                link = measure_link(estimator, sources[index], previous[0])
                flow, mask = enlarged_motion(link.near_to_far, link.reliability.mask, painter.size)
                holes = enlarged_mask(link.reliability.holes.astype(np.float32), painter.size)
                held = HeldDetail(warp_stylized(previous[1], flow), mask, holes)
            frame = painter.refine_variant(painted[index], held)
            timings.append(time.perf_counter() - started)
            delivered.append(frame)
            previous = (sources[index], frame, painted[index])
    return delivered


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--start", type=float, default=2.0)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", type=int, default=160, help="the painted size (long side)")
    parser.add_argument("--width", type=int, default=0, help="resize the source to this width first")
    parser.add_argument("--variants", nargs="+", default=["previous", "current"])
    parser.add_argument("--losses", action="store_true", help="the style loss too (slow at 720p)")
    parser.add_argument("--pictures", type=Path, default=CACHE / "pictures")
    parser.add_argument("--per-frame", action="store_true", help="a render frame by frame at both sizes too")
    args = parser.parse_args()
    clip, work = painted_render(args)
    plan = ShotPlan.from_json(work.load_shot_plan() or {})
    count = plan.frame_count
    segment = Segment() if args.width else Segment(start=Fraction(str(args.start)))
    sources = [d.frame for _, d in zip(range(count), read_frames(clip, segment), strict=False)]
    height, width = sources[0].shape[:2]
    painted = [work.load(i) for i in range(count)]
    print(machine_line(), f"| {clip.name} {width}x{height} painted at {painted[0].shape[1]}x{painted[0].shape[0]},"
          f" {count} frames, shots at {plan.starts}, flashes {plan.flashes}", flush=True)  # fmt: skip
    styles = (args.style,) if args.losses else ()
    small = measure(iter(sources), iter(painted), styles=styles, losses_every=max(1, count // 4))
    painted_size = painted[0].shape[1::-1]

    def composition(frames: list[np.ndarray]) -> float | None:
        """The style loss of ``frames`` shrunk to the painted size, against the painted frames' own."""
        if not args.losses:
            return None
        shrunk = [cv2.resize(f, painted_size, interpolation=cv2.INTER_AREA) for f in frames]
        loss = measure(iter(sources), iter(shrunk), styles=styles, losses_every=max(1, count // 4)).style_loss
        return (loss or 0.0) / (small.style_loss or 1.0)

    lanczos = [imageops.enlarge_frame(p, width, height) for p in painted]
    rows: dict[str, dict[str, Any]] = {
        "painted frames at their size": {"warping error": small.warping_error, "style": small.style_loss},
    }
    every = max(1, count // 4)
    big = measure(iter(sources), iter(lanczos), styles=(args.style,) if args.losses else (), losses_every=every)
    rows["lanczos"] = {
        "warping error": big.warping_error,
        "vs painted": (big.warping_error or 0) / (small.warping_error or 1),
        "style": big.style_loss,
        "composition": composition(lanczos),
        "pops max": max(pops(sources, lanczos)),
        "sharpness first, min, last": [sharpness(lanczos[0]), min(map(sharpness, lanczos)), sharpness(lanczos[-1])],
    }
    print(json.dumps(rows), flush=True)
    job = build_job((args.style,))
    backend = choose_backend(job.engine)
    flow_size = fit_long_side(width, height, min(max(width, height), max(max(painted[0].shape[:2]), 480)), even=True)
    flow_sources = [imageops.resize_frame(s, *flow_size) for s in sources]
    for variant in args.variants:
        painter = VariantPainter(
            job.style, backend, (width, height), painted[0].shape[1::-1], temporal_weight=job.losses.temporal,
        )  # fmt: skip
        painter.variant = variant
        started = time.perf_counter()
        timings: list[float] = []
        delivered = steady_details(plan, painted, flow_sources, painter, variant, timings)
        seconds = time.perf_counter() - started
        found = measure(iter(sources), iter(delivered), styles=(args.style,) if args.losses else (),
                        losses_every=max(1, count // 4))  # fmt: skip
        popped = pops(sources, delivered)
        rows[variant] = {
            "warping error": found.warping_error,
            "vs painted": (found.warping_error or 0) / (small.warping_error or 1),
            "style": found.style_loss,
            "composition": composition(delivered),
            "pops max": max(popped),
            "pops at": [i + 1 for i, p in enumerate(popped) if p > 0.5],
            "sharpness first, min, last": [
                sharpness(delivered[0]),
                min(sharpness(f) for f in delivered),
                sharpness(delivered[-1]),
            ],
            "s a later frame": float(np.median(timings[1:])) if len(timings) > 1 else None,
            "seconds": seconds,
        }
        print(variant, json.dumps(rows[variant]), flush=True)
        kept = work.path.parent / variant
        kept.mkdir(exist_ok=True)
        for index, frame in enumerate(delivered):
            cv2.imwrite(str(kept / f"{index:04d}.png"), frame[..., ::-1])
        crop = (slice(height // 6, height // 6 + 200), slice(width // 2, width // 2 + 200))
        pair = np.hstack([delivered[i][crop] for i in (10, 11, 20)])
        save_picture(args.pictures, f"{args.clip.stem}_{variant}_10_11_20", pair)
    if args.per_frame:
        _, alone = painted_render(args, ("--temporal-weight", "0", "--temporal-init", "content"), "per_frame")
        found = measure(iter(sources), (alone.details.load(i) for i in range(count)))
        rows["per-frame render, both sizes"] = {"warping error": found.warping_error}
        for row in rows.values():
            if "vs painted" in row:
                row["vs per-frame"] = (row["warping error"] or 0) / (found.warping_error or 1)
        print(json.dumps(rows["per-frame render, both sizes"]), flush=True)
    path = write_results(
        f"steadiness.{args.clip.stem}.{width}",
        {
            "clip": args.clip.name,
            "style": args.style.name,
            "frames": count,
            "delivered": [width, height],
            "painted": list(painted[0].shape[1::-1]),
            "rows": rows,
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
