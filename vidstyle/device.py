"""Choosing the torch device and the autocast precision from the settings."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import cv2
import torch

from vidstyle.config import DeviceName, PrecisionName
from vidstyle.errors import DeviceError


def resolve_device(name: DeviceName) -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; an explicit choice must exist."""
    mps_available = hasattr(torch.backends, "mps") and torch.backends.mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available:
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda: no CUDA GPU is available to torch on this machine")
    if name == "mps" and not mps_available:
        raise DeviceError("--device mps: Apple's Metal backend is not available on this machine")
    return torch.device(name)


def bf16_is_fast(device: torch.device) -> bool:
    """Whether bf16 autocast pays off on this device.

    On CPUs with native bf16 (AVX512-BF16 or AMX) oneDNN runs VGG19 about 1.7x faster in bf16
    (benchmarks/bench_step.py); without it, bf16 is emulated and slower than fp32. MPS autocast
    to bf16 is not dependable, so it stays fp32 there.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def autocast_dtype(device: torch.device, precision: PrecisionName) -> torch.dtype | None:
    """The autocast dtype for the network, or None for plain fp32."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        if device.type not in ("cpu", "cuda"):
            raise DeviceError(f"--precision bf16 is not supported on {device.type}")
        return torch.bfloat16
    return torch.bfloat16 if bf16_is_fast(device) else None


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """Autocast the network's forward pass to ``dtype``; a no-op for None."""
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


# Peak memory of one optimization step per pixel of the frame: VGG19 activations up to relu5_1
# kept for the backward pass, plus L-BFGS history. Measured about 2.5 KB/px with bf16 and up
# to 3.7 KB/px at small sizes (benchmarks); 4 KB/px leaves a margin.
BYTES_PER_PIXEL = 4096


def available_memory(device: torch.device) -> int | None:
    """Bytes free for a new allocation on ``device``, or None where it cannot be told."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo", encoding="ascii") as meminfo:
                for line in meminfo:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
    return None


def check_frame_fits(device: torch.device, width: int, height: int) -> None:
    """Raise DeviceError, with a --size that would fit, when a frame is too big for memory."""
    free = available_memory(device)
    needed = width * height * BYTES_PER_PIXEL
    if free is None or needed <= free:
        return
    scale = (free / needed) ** 0.5
    fitting = int(max(width, height) * scale * 0.9) // 16 * 16
    raise DeviceError(
        f"a {width}x{height} frame needs about {needed / 2**30:.1f} GiB to stylize and {device.type} has "
        f"{free / 2**30:.1f} GiB free; use --size {max(16, fitting)} or smaller"
    )


def configure_cpu_threads() -> int:
    """Threads for a video render: the network gets every core this process may use; OpenCV
    one, since its flow runs in a worker thread beside the network and would otherwise ask
    for every core too. Returns the network's thread count."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(cores)
    cv2.setNumThreads(1)
    return cores
