"""One frame's cost: milliseconds per optimization step, how far bf16 drifts from fp32, and the
peak memory against the pre-check.

``steps`` (the default): VGG19 forward + backward to the input pixels at 256, 512 and 720 px
(long side, 4:3), fp32 and bf16 (and fp16 on CUDA), with the achieved GFLOP/s next to this
machine's measured matmul GFLOP/s. Steps run eagerly, one Python call per op: on a GPU,
benchmarks/bench_gpu.py gives the optimizer's own time per iteration, with CUDA graphs.

``precision``: the same frame stylized from the same start with the same fixed budget (no
early stop, one scale) in fp32 and with bf16 autocast, both results measured with the fp32
objective, so that the losses compare like with like.

``memory``: each size in a fresh process: the network and the style targets are made first,
then the peak is counted from there (Linux's VmHWM, reset through /proc/self/clear_refs; on
CUDA, torch's peak allocation) over a shot's first frame at default settings (coarse to fine,
the full budget, so L-BFGS's history fills) and one later frame with its three temporal
terms, against device.frame_bytes. Writes benchmarks/results/memory.<device>.<precision>.<date>.json.

    python benchmarks/bench_step.py [steps] [--device cpu|cuda] [--sizes 256 512 720] [--repeats N]
    python benchmarks/bench_step.py precision [--size 480] [--iterations 60]
    python benchmarks/bench_step.py memory [--sizes 256 384 512] [--device cpu|cuda] [--no-results]
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import machine  # beside this script

from vidstyle import imageops
from vidstyle.config import build_job
from vidstyle.device import bf16_is_fast, configure_threads, frame_bytes, network_dtype, network_threads, resolve_device
from vidstyle.objective import StyleObjective, TemporalTerm, measure_losses, unweighted
from vidstyle.settings import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, LossWeights
from vidstyle.sizes import fit_long_side
from vidstyle.stylizer import Stylizer
from vidstyle.vgg import VGG19Features
from vidstyle.video_io import Segment, read_frames

ROOT = Path(__file__).resolve().parent.parent


def conv_flops(net: VGG19Features, height: int, width: int) -> float:
    """Multiply-adds x 2 of the truncated network's convolutions for one forward pass."""
    flops = 0.0
    h, w = height, width
    for module in net.features:
        if isinstance(module, torch.nn.Conv2d):
            flops += 2.0 * module.in_channels * module.out_channels * 9 * h * w
        elif isinstance(module, torch.nn.MaxPool2d):
            h, w = h // 2, w // 2
    return flops


def matmul_gflops(device: torch.device, dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> float:
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def step_ms(objective: StyleObjective, height: int, width: int, repeats: int) -> float:
    """Time of one loss evaluation with backward to the image, as the optimizer runs it."""
    device = objective.device
    content = torch.rand(1, 3, height, width, device=device)
    target = objective.content_features(content)
    image = content.clone().requires_grad_(True)

    def step() -> None:
        image.grad = None
        total, _ = objective.evaluate(image, target)
        total.backward()

    for _ in range(2):
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    _sync(device)
    return (time.perf_counter() - start) / repeats * 1000


def steps(device_name: str, sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    """Prints the table of ms per step; returns its rows."""
    device = torch.device(device_name)
    rows: list[dict[str, Any]] = []
    weights = LossWeights()
    net = VGG19Features([DEFAULT_CONTENT_LAYER, *DEFAULT_STYLE_LAYERS]).to(device)
    style = torch.rand(1, 3, 256, 256, device=device)
    fp32_peak = matmul_gflops(device, torch.float32)
    bf16_peak = matmul_gflops(device, torch.bfloat16)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"matmul 2048^2: fp32 {fp32_peak:.0f} GFLOP/s, bf16 {bf16_peak:.0f} GFLOP/s")
    print(f"bf16 judged fast here: {bf16_is_fast(device)}; auto precision -> {network_dtype(device, 'auto')}")
    print()
    print(f"{'size':>9}  {'precision':>9}  {'ms/step':>8}  {'GFLOP/step':>10}  {'GFLOP/s':>8}  {'vs fp32 matmul':>14}")
    for long_side in sizes:
        width, height = long_side, long_side * 3 // 4
        # forward + backward to the input: the input-gradient of a conv costs what its forward does.
        gflop = 2 * conv_flops(net, height, width) / 1e9
        baseline = None
        precisions: list[tuple[str, torch.dtype | None]] = [("fp32", None), ("bf16", torch.bfloat16)]
        if device.type == "cuda":
            precisions.append(("fp16", torch.float16))
        for name, dtype in precisions:
            objective = StyleObjective(net, weights, compute_dtype=dtype)
            objective.set_style([style], [1.0])
            ms = step_ms(objective, height, width, repeats)
            baseline = baseline or ms
            rate = gflop / (ms / 1000)
            speedup = f" ({baseline / ms:.2f}x)" if dtype is not None else ""
            print(
                f"{width:>4}x{height:<4}  {name:>9}  {ms:>8.0f}  {gflop:>10.1f}  {rate:>8.0f}  "
                f"{rate / fp32_peak:>13.0%}{speedup}"
            )
            rows.append({"size": f"{width}x{height}", "precision": name, "ms/step": ms, "GFLOP/s": rate})

    return rows


def precision(clip: Path, style: Path, size: int, iterations: int) -> None:
    """bf16 autocast against fp32 on one frame: time per step and how far the results differ."""
    configure_threads(network_threads(None), network_threads(None))

    frame = next(iter(read_frames(clip, Segment(frames=1)))).frame
    stylizers: dict[str, Stylizer] = {}
    outputs: dict[str, np.ndarray] = {}
    step_seconds: dict[str, float] = {}
    for precision in ("fp32", "bf16"):
        job = build_job([style], size=size, precision=precision, tolerance=0.0, scales=1)
        width, height = job.processing_size(frame.shape[1], frame.shape[0], still=False)
        content = imageops.resize_frame(frame, width, height)
        stylizer = Stylizer(job.style, job.losses, job.optimizer, job.engine, content_size=(width, height))
        started = time.perf_counter()
        stylized = stylizer.stylize(content, stylizer.to_optimization_space(content), iterations=iterations)
        step_seconds[precision] = (time.perf_counter() - started) / stylized.iterations
        stylizers[precision], outputs[precision] = stylizer, stylized.frame

    print(f"{clip.name} frame 0 at {width}x{height}, {iterations} L-BFGS iterations from the content")
    print(f"bf16 runs natively here: {bf16_is_fast(stylizers['fp32'].device)}\n")
    print(f"{'':<8} {'s/step':>8} {'total':>10} {'style':>10} {'content':>10} {'tv':>10}")
    # Both results measured by the fp32 objective.
    reference = stylizers["fp32"]
    totals: dict[str, float] = {}
    for precision, output in outputs.items():
        image = imageops.frame_to_image(output, reference.device)
        parts = measure_losses(reference.objective, image, reference.to_optimization_space(content))
        raw = unweighted(parts, job.losses)
        totals[precision] = parts.total
        print(
            f"{precision:<8} {step_seconds[precision]:8.3f} {parts.total:10.4f} {raw['style']:10.5f} "
            f"{raw['content']:10.4f} {raw['tv']:10.5f}"
        )
    speed = step_seconds["fp32"] / step_seconds["bf16"]
    difference = (totals["bf16"] - totals["fp32"]) / totals["fp32"]
    print(f"\nbf16 steps are {speed:.2f}x as fast; its final loss differs from fp32's by {100 * difference:+.2f}%")


def _status_kib(field: str) -> int:
    """A memory figure of this process from Linux (VmRSS: now; VmHWM: the peak), in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_one(long_side: int, device_name: str, precision: str) -> dict[str, object]:
    """Peak bytes above the loaded model for one size (run in a fresh process)."""
    job = build_job([ROOT / "samples" / "starry_night.jpg"], size=long_side, device=device_name, precision=precision)
    width, height = fit_long_side(1920, 1080, long_side, even=True)
    device = resolve_device(job.engine.device)
    stylizer = Stylizer(job.style, job.losses, job.optimizer, job.engine, content_size=(width, height))
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if device.type == "cuda":
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    else:
        base = _status_kib("VmRSS") * 1024
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM from here
    init = stylizer.first_frame_init(frame, "content", seed=0)
    first = stylizer.stylize(frame, init, iterations=job.optimizer.iterations, coarse_to_fine=True)
    start = stylizer.to_optimization_space(first.frame)
    mask = torch.ones(1, 1, height, width, device=device)
    terms = [TemporalTerm(start, mask) for _ in range(3)]
    stylizer.stylize(frame, start, iterations=job.optimizer.later_iterations, temporal=terms)
    peak = torch.cuda.max_memory_allocated() - base if device.type == "cuda" else _status_kib("VmHWM") * 1024 - base
    return {
        "size": f"{width}x{height}",
        "pixels": width * height,
        "peak_bytes": peak,
        "predicted_bytes": frame_bytes(device, job.engine.precision, width, height),
        "precision": str(stylizer.compute_dtype or torch.float32).removeprefix("torch."),
        "first_frame_iterations": first.iterations,
    }


def memory(sizes: list[int], device_name: str, precision_name: str) -> list[dict[str, Any]]:
    """Peak memory at each size, each in a fresh process; prints the table, returns its rows."""
    rows = []
    for size in sizes:
        child = [sys.executable, __file__, "memory", "--one", str(size), "--device", device_name]
        result = subprocess.run([*child, "--precision", precision_name], capture_output=True, text=True, check=True)
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    print(f"{'size':>10} {'peak MiB':>9} {'predicted MiB':>14} {'KB/px':>6} {'predicted/peak':>15}")
    for row in rows:
        peak, predicted = int(row["peak_bytes"]), int(row["predicted_bytes"])
        print(
            f"{row['size']:>10} {peak / 2**20:9.0f} {predicted / 2**20:14.0f} "
            f"{peak / int(row['pixels']) / 1000:6.2f} {predicted / peak:15.2f}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", nargs="?", default="steps", choices=("steps", "precision", "memory"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="steps: 256 512 720; memory: 256 384 512")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clip", type=Path, default=ROOT / "samples" / "pens.mp4")
    parser.add_argument("--style", type=Path, default=ROOT / "samples" / "starry_night.jpg")
    parser.add_argument("--size", type=int, default=480, help="precision: the frame's long side")
    parser.add_argument("--iterations", type=int, default=60, help="precision: the fixed budget")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"], help="memory")
    parser.add_argument("--no-results", action="store_true", help="memory: print only, no JSON in results/")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # memory: a child's size
    args = parser.parse_args()
    if args.part == "steps":
        steps(args.device, args.sizes or [256, 512, 720], args.repeats)
    elif args.part == "precision":
        precision(args.clip, args.style, args.size, args.iterations)
    elif args.one is not None:
        print(json.dumps(measure_one(args.one, args.device, args.precision)))
    else:
        rows = memory(args.sizes or [256, 384, 512], args.device, args.precision)
        if not args.no_results:
            today = datetime.date.today().isoformat()
            results = ROOT / "benchmarks" / "results" / f"memory.{args.device}.{rows[0]['precision']}.{today}.json"
            command = "python benchmarks/bench_step.py " + " ".join(sys.argv[1:])
            payload = {"date": today, "command": command, "machine": machine(), "rows": rows}
            results.write_text(json.dumps(payload, indent=2) + "\n")
            print(f"written to {results.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
