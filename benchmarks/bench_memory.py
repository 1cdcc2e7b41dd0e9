"""Peak memory of stylizing a frame, against what the pre-check (device.check_frame_fits)
predicts, at three sizes.

Each size runs in a fresh process: the network and the style targets are made first, then the
peak is counted from there (Linux's VmHWM, reset through /proc/self/clear_refs; on CUDA,
torch's peak allocation) over a shot's first frame at default settings (coarse to fine, the
full budget, so L-BFGS's history fills) and one later frame with its three temporal terms.

    python benchmarks/bench_memory.py [--sizes 256 384 512] [--device cpu|cuda]

Prints a table and writes benchmarks/results/memory.<machine>.<date>.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from vidstyle.config import build_job
from vidstyle.device import frame_bytes, resolve_device
from vidstyle.optimize import TemporalTerm
from vidstyle.sizes import fit_long_side
from vidstyle.stylizer import Stylizer

ROOT = Path(__file__).resolve().parent.parent


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 384, 512])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--no-results", action="store_true", help="print only (a dry run): no JSON in results/")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child's size
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure_one(args.one, args.device, args.precision)))
        return
    rows = []
    for size in args.sizes:
        child = [sys.executable, __file__, "--one", str(size), "--device", args.device, "--precision", args.precision]
        result = subprocess.run(child, capture_output=True, text=True, check=True)
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    device = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or platform.machine()
    print(f"{'size':>10} {'peak MiB':>9} {'predicted MiB':>14} {'KB/px':>6} {'predicted/peak':>15}")
    for row in rows:
        peak, predicted = int(row["peak_bytes"]), int(row["predicted_bytes"])  # type: ignore[call-overload]
        print(
            f"{row['size']:>10} {peak / 2**20:9.0f} {predicted / 2**20:14.0f} "
            f"{peak / int(row['pixels']) / 1000:6.2f} {predicted / peak:15.2f}"  # type: ignore[call-overload]
        )
    if args.no_results:
        return
    today = datetime.date.today().isoformat()
    precision = rows[0]["precision"]
    results = ROOT / "benchmarks" / "results" / f"memory.{args.device}.{precision}.{platform.node()}.{today}.json"
    command = "python benchmarks/bench_memory.py " + " ".join(sys.argv[1:])
    payload = {"date": today, "device": device, "command": command.strip(), "torch": torch.__version__, "rows": rows}
    results.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written to {results.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
