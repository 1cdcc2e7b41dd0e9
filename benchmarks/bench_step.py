"""Milliseconds per optimization step: VGG19 forward + backward to the input pixels.

Prints a table for 256, 512 and 720 px (long side, 4:3), fp32 and bf16 (and fp16 on CUDA),
with the achieved GFLOP/s next to this machine's measured matmul GFLOP/s. Steps run eagerly,
one Python call per op: on a GPU, benchmarks/bench_gpu.py gives the optimizer's own time per
iteration, with CUDA graphs.

    python benchmarks/bench_step.py [--device cpu|cuda] [--repeats N]
"""

from __future__ import annotations

import argparse
import time

import torch

from vidstyle.config import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, LossWeights
from vidstyle.device import bf16_is_fast, network_dtype
from vidstyle.encoder import VGG19Features
from vidstyle.optimize import StyleObjective


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 720])
    args = parser.parse_args()
    device = torch.device(args.device)
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
    for long_side in args.sizes:
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
            ms = step_ms(objective, height, width, args.repeats)
            baseline = baseline or ms
            rate = gflop / (ms / 1000)
            speedup = f" ({baseline / ms:.2f}x)" if dtype is not None else ""
            print(
                f"{width:>4}x{height:<4}  {name:>9}  {ms:>8.0f}  {gflop:>10.1f}  {rate:>8.0f}  "
                f"{rate / fp32_peak:>13.0%}{speedup}"
            )


if __name__ == "__main__":
    main()
