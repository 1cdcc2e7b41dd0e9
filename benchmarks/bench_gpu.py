"""The GPU path measured: time per iteration, host syncs, a 480 px render's frame rate and load.

1. One frame at 480 px (394x480 for the sample clip), 50 L-BFGS iterations (a later frame
   gets 15 by default; 50 average the timing over more): milliseconds per iteration eagerly
   and with CUDA graphs, and the host syncs per iteration (torch.cuda.set_sync_debug_mode
   counts every op that waits).
2. A render of the first N frames of samples/pens.mp4 at 480 px with vidstyle's defaults:
   frames per second for later frames and for the whole clip (model loading, first frame and
   encoding included), the GPU's busy share of the render's wall time (NVML, sampled every
   50 ms), peak GPU memory, and the warping error and style loss of the result.
3. The same render with the warps between frames on a CPU core, as before device_warps.py,
   with the long-term flows estimated directly (six flows a frame, not two), with one
   neighbour instead of three, and with 1, 2 and 4 work units painted at once; the defaults
   at 720 and 1080 px. Each render's warping error is also judged by two flows it did not
   follow.
4. Two renders at once, each driving the GPU from its own thread.
5. Where the thread that drives the GPU spends a render's time (cProfile of that thread
   alone, in a render of its own: profiling slows it).

    python benchmarks/bench_gpu.py [--frames 48] [--size 480]

Needs a CUDA device; prints one table.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import logging
import pstats
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch
from common import parser_for, render_kept, replaced  # beside this script

from vidstyle import imageops, prefetch, shot_render
from vidstyle.backend import choose_backend
from vidstyle.config import build_job
from vidstyle.flow import FlowEstimator, nvof
from vidstyle.flow.motion import measure_motion
from vidstyle.metrics import measure, warping_error
from vidstyle.objective import StyleObjective, measure_losses
from vidstyle.optimize import FrameResult, stylize_frame
from vidstyle.pipeline import stylize_video
from vidstyle.settings import OptimizerSettings, TemporalSettings
from vidstyle.style_targets import read_painting
from vidstyle.style_targets import style_image as to_style_image
from vidstyle.stylizer import Stylizer
from vidstyle.video_io import Segment, read_frames
from vidstyle.warps import HOST_WARPS

ROOT = Path(__file__).resolve().parent.parent
# The device the check runs on: cuda, or cpu for a dry run (device_check.sh --dry) that runs
# the same code at tiny sizes, so that a lent GPU's minutes are not lost to a typo.
DEVICE = "cuda"


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


class BusySampler:
    """The GPU's utilization (share of time a kernel ran), sampled in a thread."""

    def __init__(self, period: float = 0.05) -> None:
        self.period = period
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(float(torch.cuda.utilization()))
            except Exception:  # no NVML: report nothing rather than fail
                return
            time.sleep(self.period)

    def __enter__(self) -> BusySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mean(self) -> float | None:
        return float(np.mean(self.samples)) if self.samples else None


class FailedCaptures(logging.Handler):
    """Counts the optimizer's "CUDA graph capture failed" warnings: a render that logs one runs eagerly."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += "graph capture failed" in record.getMessage()


def first_frame(clip: Path, style: Path, size: int, **options: Any) -> tuple[Stylizer, torch.Tensor]:
    """A CUDA stylizer for the clip's first frame at ``size``, and that frame as it is optimized."""
    job = build_job([style], size=size, device=DEVICE, **options)
    frame = next(iter(read_frames(clip, Segment(frames=1)))).frame
    width, height = job.processing_size(frame.shape[1], frame.shape[0], still=False)
    stylizer = Stylizer(job.style, job.losses, job.optimizer, job.engine, content_size=(width, height))
    return stylizer, stylizer.to_optimization_space(imageops.resize_frame(frame, width, height))


def timed_frames(
    objective: StyleObjective, content: torch.Tensor, settings: OptimizerSettings, iterations: int, repeats: int
) -> tuple[FrameResult, float]:
    """One frame to warm up (and capture the graph), then ms per iteration over ``repeats`` more.

    Returns the warm-up frame's result and the milliseconds.
    """
    result = stylize_frame(objective, content, content, settings, iterations=iterations)
    sync()
    started = time.perf_counter()
    for _ in range(repeats):
        stylize_frame(objective, content, content, settings, iterations=iterations)
    sync()
    return result, (time.perf_counter() - started) / (repeats * iterations) * 1000


def precision_table(clip: Path, style: Path, size: int, iterations: int) -> list[tuple[str, float, float, float]]:
    """Per network dtype: the image gradient's cosine to fp32's (TF32 off), the loss after
    ``iterations`` iterations from the content (measured in fp32), and ms per iteration."""
    stylizer, content = first_frame(clip, style, size, precision="fp32")
    measuring = stylizer.objective
    long_side = max(content.shape[-2:])
    painting = read_painting(stylizer.style.paths[0], long_side)
    style_image = to_style_image(painting, long_side, stylizer.device)

    def gradient(objective: StyleObjective) -> torch.Tensor:
        image = content.clone().requires_grad_(True)
        total, _ = objective.evaluate(image, objective.content_features(content))
        (total * objective.gradient_scale).backward()
        assert image.grad is not None
        return image.grad.flatten() / objective.gradient_scale

    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        reference = gradient(measuring)
    rows = []
    variants = [
        ("fp32 (tf32)", None, True),
        ("bf16", torch.bfloat16, True),
        ("fp16", torch.float16, True),
        ("bf16 NCHW", torch.bfloat16, False),
    ]
    for name, dtype, channels_last in variants:
        objective = StyleObjective(measuring.encoder, stylizer.losses, compute_dtype=dtype)
        if not channels_last:
            objective.encoder = measuring.encoder.in_compute_form(dtype, channels_last=False)
        objective.set_style([style_image], [1.0])
        cosine = torch.nn.functional.cosine_similarity(gradient(objective), reference, dim=0).item()
        result, ms = timed_frames(objective, content, OptimizerSettings(tolerance=0.0), iterations, repeats=1)
        rows.append((name, cosine, measure_losses(measuring, result.image, content).total, ms))
    return rows


def kernel_profile(clip: Path, style: Path, size: int, iterations: int = 5) -> None:
    """Where one eager iteration's GPU time goes, by kernel, with the auto precision."""
    stylizer, content = first_frame(clip, style, size)
    stylizer.objective.use_cuda_graphs = False
    settings = OptimizerSettings(tolerance=0.0)
    stylize_frame(stylizer.objective, content, content, settings, iterations=iterations)
    torch.cuda.synchronize()
    activities = [torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as profile:
        stylize_frame(stylizer.objective, content, content, settings, iterations=iterations)
        torch.cuda.synchronize()
    events = [e for e in profile.key_averages() if e.device_time_total > 0]
    total = sum(e.self_device_time_total for e in events)
    print(f"GPU time per eager iteration: {total / iterations / 1000:.3f} ms, by kernel:")
    for event in sorted(events, key=lambda e: -e.self_device_time_total)[:14]:
        share = event.self_device_time_total / total
        print(f"  {event.self_device_time_total / iterations / 1000:7.3f} ms {share:6.1%}  {event.key[:90]}")


def iteration_timing(clip: Path, style: Path, size: int, iterations: int) -> dict[str, float]:
    """ms per iteration and syncs per iteration on one frame, eagerly and with graphs."""
    stylizer, content = first_frame(clip, style, size)
    objective = stylizer.objective
    settings = OptimizerSettings(tolerance=0.0)
    out: dict[str, float] = {}
    for graphs, benchmark in ((False, False), (True, False), (True, True)):
        torch.backends.cudnn.benchmark = benchmark
        objective.use_cuda_graphs = graphs
        objective.runs.clear()
        name = ("graphs" if graphs else "eager") + (" cudnn.benchmark" if benchmark else "")
        _, out[f"ms/iteration {name}"] = timed_frames(objective, content, settings, iterations, repeats=3)
        torch.cuda.set_sync_debug_mode("warn")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                stylize_frame(objective, content, content, settings, iterations=iterations)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        syncs = sum("synchroniz" in str(w.message) for w in caught)
        out[f"syncs/iteration {name}"] = syncs / iterations
    torch.backends.cudnn.benchmark = False
    # TF32 matrix products: exact for the Gram's fp16/bf16 inputs, rounded for fp32 ones.
    objective.runs.clear()
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        _, out["ms/iteration graphs, tf32 matmul"] = timed_frames(objective, content, settings, iterations, repeats=3)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = False
    # L-BFGS history 10 instead of 50: what the stored pairs cost per iteration.
    short = OptimizerSettings(tolerance=0.0, history_size=10)
    _, out["ms/iteration graphs, history 10"] = timed_frames(objective, content, short, iterations, repeats=3)
    out["height"], out["width"] = content.shape[-2:]
    return out


JUDGES: dict[str, dict[str, Any]] = {"DIS medium": {"dis_preset": "medium"}, "Farneback": {"flow": "farneback"}}

# Renders beside the defaults: each a context the render runs in and options it is given.
# "warps on CPU" is the render before device_warps.py; "long-term direct" estimates the flows
# to frames 2 and 4 back (six flows a frame, the render before chaining); "long term 1" has no
# long-term terms. "N units" paints N work units at once (chunks of 24 frames and their seams),
# "1 unit" the same units one at a time: what painting side by side buys.
VARIANTS: dict[str, tuple[Callable[[], contextlib.AbstractContextManager[None]], dict[str, Any]]] = {
    "defaults": (contextlib.nullcontext, {}),
    "warps on CPU": (lambda: replaced(shot_render, "DeviceWarps", lambda device: HOST_WARPS), {}),
    "long-term direct": (contextlib.nullcontext, {"long_term_flow": "direct"}),
    "long term 1": (contextlib.nullcontext, {"long_term": (1,)}),
    "1 unit": (contextlib.nullcontext, {"units": 1, "chunk_frames": 24}),
    "2 units": (contextlib.nullcontext, {"units": 2, "chunk_frames": 24}),
    "4 units": (contextlib.nullcontext, {"units": 4, "chunk_frames": 24}),
}
# The defaults at these sizes too (--sizes): what a GPU affords beyond 480 px.
SIZES = (480, 720, 1080)


class CountedLinks:
    """Counts the frame pairs whose flows a render estimates (two flows each)."""

    def __init__(self) -> None:
        self.count = 0
        self._measure = prefetch.measure_link

    def __call__(self, *args: Any) -> Any:
        self.count += 1
        return self._measure(*args)


def render(clip: Path, style: Path, frames: int, size: int, **options: Any) -> dict[str, Any]:
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()
    failures = FailedCaptures()
    links = CountedLinks()
    logging.getLogger("vidstyle.optimize").addHandler(failures)
    try:
        with BusySampler() as busy, replaced(prefetch, "measure_link", links):  # the render alone
            rendered = render_kept(clip, style, frames, size, {"device": DEVICE, **options})
    finally:
        logging.getLogger("vidstyle.optimize").removeHandler(failures)
    engine = build_job([style], device=DEVICE, units=options.get("units")).engine
    report, records = rendered.report, rendered.records
    sources = [f.frame for f in read_frames(clip, Segment(frames=frames))]
    metrics = measure(sources, rendered.outputs, styles=(style,), losses_every=4)
    # The default measure's flow is the render's own at full size: a render made with it is
    # judged by the very flow it followed. Two other estimators judge each render alike.
    judged_by = {
        name: measure(sources, rendered.outputs, temporal=TemporalSettings(**settings)).warping_error
        for name, settings in JUDGES.items()
    }
    later = [r.seconds for r in records if not r.fresh]
    return {
        "frames": report.frames,
        "size": f"{report.painted_width}x{report.painted_height}",
        "wall s": rendered.seconds,
        "first frame s": records[0].seconds,
        "later frame ms": 1000 * float(np.mean(later)),
        "later frames/s": 1 / float(np.mean(later)),
        "clip frames/s": report.frames / rendered.seconds,
        "iterations/later frame": float(np.mean([r.iterations for r in records if not r.fresh])),
        "evaluations/later frame": float(np.mean([r.evaluations or r.iterations for r in records if not r.fresh])),
        "units at once": choose_backend(engine, frame_size=rendered.outputs[0].shape[1::-1]).units_at_once,
        "flows a frame": 2 * links.count / report.frames,
        "GPU busy %": busy.mean,
        "graph captures failed": failures.count,
        "peak GPU memory GiB": torch.cuda.max_memory_allocated() / 2**30 if DEVICE == "cuda" else None,
        "warping error": metrics.warping_error,
        **{f"  judged by {name}": error for name, error in judged_by.items()},
        "style loss": metrics.style_loss,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Every section, each even when an earlier one fails; returns the render table by run."""
    parser = parser_for(__doc__)
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES), help="the defaults at these sizes too")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--only", nargs="+", default=None, help="these sections alone (default: every one)")
    parser.add_argument(
        "--detail-width", type=int, default=1920, help="the detail row: the clip enlarged to this width, 16:9"
    )
    parser.add_argument("--variants", nargs="+", default=None, help="these renders alone (default: every one)")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="cpu: a dry run of the same code")
    args = parser.parse_args(argv)
    global DEVICE
    DEVICE = args.device
    device = torch.device(DEVICE)
    if DEVICE == "cuda":
        name = torch.cuda.get_device_name(device)
        print(f"{name}, capability {torch.cuda.get_device_capability(device)}, torch {torch.__version__}")
    else:
        print(f"dry run on the CPU, torch {torch.__version__}")
    backend = choose_backend(build_job([args.style], device=DEVICE).engine, frame_size=(args.size, args.size))
    print(f"flow workers beside the GPU: {backend.flow_workers}, of {backend.threads} cores")
    print(f"auto precision: {backend.dtype}, units at once at {args.size} px: {backend.units_at_once}")
    print(nvof_probe(args.clip), "\n", flush=True)
    # The render's figures first: they are what the lease is for. Each section runs even when
    # an earlier one fails, so one lent GPU answers as much as it can.
    renders: dict[str, dict[str, Any]] = {}
    sections: dict[str, Callable[[], None]] = {
        "renders": lambda: renders.update(render_table(args)),
        "detail": lambda: detail_row(args),
        "side-by-side": lambda: side_by_side_table(args),
        "profile": lambda: driving_thread_profile(args),
        "timing": lambda: timing_table(args),
        "precision": lambda: precision_rows(args),
        "kernels": lambda: kernel_profile(args.clip, args.style, args.size),
    }
    for name, run in sections.items():
        if args.only is None or name in args.only:
            section(run)
    return renders


def detail_row(args: argparse.Namespace) -> None:
    """The detail pass on the card: the clip enlarged to ``--detail-width`` (16:9, 1080p by
    default), painted at ``--size`` and delivered at the enlarged size, at the defaults."""
    width = args.detail_width
    height = width * 9 // 16 // 2 * 2
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "big.mp4"
        frames = [
            imageops.resize_frame(f.frame, width, height) for f in read_frames(args.clip, Segment(frames=args.frames))
        ]
        write_clip(frames, clip)
        if DEVICE == "cuda":
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        report = stylize_video(
            clip, args.style, Path(folder) / "out.mp4", size=args.size, device=DEVICE, keep_frames=False
        )
        wall = time.perf_counter() - started
    peak = f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB" if DEVICE == "cuda" else "n/a"
    print(
        f"detail: {report.frames} frames painted at {report.painted_width}x{report.painted_height}, delivered at "
        f"{report.width}x{report.height}: {wall:.1f} s in all, the detail pass {report.detail_seconds:.1f} s "
        f"({report.later_detail_seconds or 0:.2f} s a later frame), peak GPU memory {peak}\n",
        flush=True,
    )


def write_clip(frames: list[np.ndarray], path: Path) -> None:
    """Frames as an H.264 clip at 25 fps."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def nvof_probe(clip: Path, size: int = 480) -> str:
    """One line on NVIDIA's optical-flow engine: whether the card has one (nvidia-smi), whether
    torch-nvidia-of-sdk can use it, and one flow between two frames of ``clip`` against DIS's
    (time, and the warping error of the source frame along each)."""
    try:
        query = subprocess.run(["nvidia-smi", "-q"], capture_output=True, text=True, timeout=30).stdout
        engine = "listed" if "OFA" in query or "Optical Flow" in query else "not listed"
    except (OSError, subprocess.SubprocessError):
        engine = "no nvidia-smi"
    missing = nvof.missing()
    if missing is not None:
        return f"NVOF: engine {engine} by nvidia-smi; not usable: {missing}"
    frames = [d.frame for d in read_frames(clip, Segment(frames=2))]
    width, height = build_job([ROOT / "samples" / "starry_night.jpg"], size=size).processing_size(
        frames[0].shape[1], frames[0].shape[0], still=False
    )
    current, previous = (imageops.resize_frame(f, width, height) for f in frames[::-1])
    cells = []
    for method in ("nvof", "dis"):
        estimator = FlowEstimator(method)  # type: ignore[arg-type]
        estimator(current, previous)  # warm up
        started = time.perf_counter()
        motion = measure_motion(estimator, current, {0: previous}).towards[0]
        ms = 1000 * (time.perf_counter() - started) / 2
        error = warping_error(current, previous, motion.backward, motion.reliability.mask)
        cells.append(
            f"{method} {ms:.1f} ms a flow, warping error {error:.3e}, reliable {motion.reliability.coverage:.0%}"
        )
    return f"NVOF: engine {engine} by nvidia-smi; at {width}x{height}: " + "; ".join(cells)


def section(run: Callable[[], None]) -> None:
    """Run one part of the report; a failure prints its traceback and the next part runs."""
    try:
        run()
    except Exception:
        traceback.print_exc()
    print(flush=True)


def render_table(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    runs = {}
    for name, (context, options) in VARIANTS.items():
        if args.variants is not None and name not in args.variants:
            continue
        try:
            with context():
                runs[name] = render(args.clip, args.style, args.frames, args.size, **options)
        except Exception:
            traceback.print_exc()
    for size in args.sizes:
        if size != args.size and (args.variants is None or "defaults" in args.variants):
            try:
                runs[f"defaults {size} px"] = render(args.clip, args.style, args.frames, size)
            except Exception:
                traceback.print_exc()
    if not runs:
        return runs
    keys = list(next(iter(runs.values())))
    print(f"render: first {args.frames} frames of {args.clip.name} at {args.size} px, {args.style.name}")
    print(f"{'':<24}" + "".join(f"{name:>18}" for name in runs))
    for key in keys:
        cells = []
        for run in runs.values():
            value = run[key]
            # None (no NVML, no GPU memory on a dry run) has no format of its own.
            cells.append(f"{value!s:>18}" if isinstance(value, (str, int)) or value is None else f"{value:>18.4g}")
        print(f"{key:<24}" + "".join(cells))
    return runs


# Two at once: the defaults, whose flows keep the GPU waiting, and one whose flows keep up.
SIDE_BY_SIDE = ("defaults", "long term 1")


def side_by_side_table(args: argparse.Namespace) -> None:
    for variant in SIDE_BY_SIDE:
        if args.variants is None or variant in args.variants:
            section(functools.partial(side_by_side, args, variant))


def side_by_side(args: argparse.Namespace, variant: str, renders: int = 2) -> None:
    """``renders`` renders of the clip at once with a ``variant``'s options, each driving the
    GPU from a thread of its own: whether one thread's planning and Python fill the GPU's gaps
    in another's, and how far the flow workers (all renders' together) keep up."""
    options = VARIANTS[variant][1]
    records: list[list[Any]] = [[] for _ in range(renders)]
    failures = FailedCaptures()
    logging.getLogger("vidstyle.optimize").addHandler(failures)

    def one(index: int) -> None:
        rendered = render_kept(args.clip, args.style, args.frames, args.size, {"device": DEVICE, **options})
        records[index] = rendered.records

    try:
        with BusySampler() as busy:
            started = time.perf_counter()
            threads = [threading.Thread(target=one, args=(i,)) for i in range(renders)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - started
    finally:
        logging.getLogger("vidstyle.optimize").removeHandler(failures)
    later = [r.seconds for run in records for r in run if not r.fresh]
    frames = sum(len(run) for run in records)
    print(f"{renders} renders at once in threads, {variant}, first {args.frames} frames at {args.size} px:")
    print(f"  frames rendered {frames}, wall {seconds:.2f} s, {frames / seconds:.2f} frames/s together")
    print(f"  later frame, each render: {1000 * float(np.mean(later)):.1f} ms ({1 / float(np.mean(later)):.2f}/s)")
    print(f"  GPU busy {busy.mean}%, graph captures failed {failures.count}")


# Where the driving thread's time goes, by function (file, function name): each is cumulative
# (it includes what it calls), so the rows overlap.
PROFILED = {
    "render_unit (all frames)": ("shot_render.py", "render_unit"),
    "  waiting on a future": ("_base.py", "result"),
    "  planning (warps)": ("frame_plan.py", "plan"),
    "  decoding frames": ("shot_render.py", "read"),
    "  stylize": ("stylizer.py", "stylize"),
    "    L-BFGS iterations": ("optimize.py", "_iteration"),
    "    result to the host": ("stylizer.py", "to_frame"),
}


def driving_thread_profile(args: argparse.Namespace) -> None:
    """cProfile of the thread that drives the GPU (this one) over a render of at most 24
    frames: where its time goes between the GPU's work (waiting on flow, planning, decoding,
    reading results)."""
    frames = min(24, args.frames)
    profile = cProfile.Profile()
    profile.enable()
    render_kept(args.clip, args.style, frames, args.size, {"device": DEVICE})
    profile.disable()
    stats = pstats.Stats(profile, stream=sys.stdout)
    print(f"the driving thread in a render of {frames} frames at {args.size} px (profiled: slower), ms a frame:")
    table: Any = stats.stats  # type: ignore[attr-defined]
    for label, (file, function) in PROFILED.items():
        seconds = sum(row[3] for key, row in table.items() if key[0].endswith(file) and key[2] == function)
        print(f"  {label:<28} {1000 * seconds / frames:8.1f}")
    stats.sort_stats("tottime").print_stats(16)


def timing_table(args: argparse.Namespace) -> None:
    timing = iteration_timing(args.clip, args.style, args.size, args.iterations)
    print(f"one frame at {timing['width']:.0f}x{timing['height']:.0f}, {args.iterations} L-BFGS iterations:")
    for key, value in timing.items():
        if key not in ("width", "height"):
            print(f"  {key:<40} {value:8.3f}")


def precision_rows(args: argparse.Namespace) -> None:
    print(f"precision: one frame at {args.size} px, 40 iterations from the content")
    print(f"  {'network':<12} {'grad cosine':>12} {'final loss':>11} {'ms/iter':>8}")
    for name, cosine, loss, ms in precision_table(args.clip, args.style, args.size, 40):
        print(f"  {name:<12} {cosine:>12.5f} {loss:>11.4f} {ms:>8.3f}")


if __name__ == "__main__":
    main()
