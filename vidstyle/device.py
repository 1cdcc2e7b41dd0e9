"""Choosing the torch device and the precision the network runs in from the settings."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import cv2
import torch

from vidstyle.errors import DeviceError
from vidstyle.settings import DeviceName, EngineSettings, PrecisionName

log = logging.getLogger(__name__)


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


def cuda_capability(device: torch.device) -> tuple[int, int]:
    """The compute capability (major, minor) of a CUDA device."""
    major, minor = torch.cuda.get_device_capability(device)
    return int(major), int(minor)


def bf16_is_fast(device: torch.device) -> bool:
    """Whether bf16 runs natively on this device, so that it pays off.

    CUDA: compute capability 8.0 (Ampere) or later. ``torch.cuda.is_bf16_supported()`` also
    answers yes where bf16 is only emulated (Turing, Volta), which is slower than fp32 there.
    CPU: native bf16 (AVX512-BF16 or AMX), where oneDNN runs VGG19 about 1.7x faster
    (benchmarks/bench_step.py); without it, bf16 is emulated and slower than fp32. MPS autocast
    to bf16 is not dependable, so it stays fp32 there.
    """
    if device.type == "cuda":
        return cuda_capability(device) >= (8, 0)
    if device.type == "cpu":
        return cpu_has_native_bf16()
    return False


NATIVE_BF16_FEATURES = ("avx512_bf16", "amx_bf16")  # names in torch's capabilities and Linux's flags


def cpu_has_native_bf16() -> bool:
    """Whether the CPU has bf16 instructions (AVX512-BF16 or AMX).

    oneDNN's own check, ``torch.ops.mkldnn._is_mkldnn_bf16_supported()``, also says yes on
    plain AVX-512, where oneDNN emulates bf16: on a 2-core AVX-512 Xeon without AVX512-BF16, a
    256 to 256 channel 3x3 convolution at 98x120 took 350 ms in bf16 against 82 in fp32, and a
    later frame at 480 px 98 s (benchmarks/experiments/bench_later_frames.py). Torch builds without
    ``torch.cpu.get_capabilities`` are answered from Linux's CPU flags, and elsewhere with no:
    fp32 is never the slow choice.
    """
    get_capabilities = getattr(torch.cpu, "get_capabilities", None)
    if get_capabilities is not None:
        capabilities = get_capabilities()
        return any(bool(capabilities.get(feature, False)) for feature in NATIVE_BF16_FEATURES)
    return bool(linux_cpu_flags() & set(NATIVE_BF16_FEATURES))


def cpu_has_avx512() -> bool:
    """Whether the CPU has AVX-512 (its foundation, AVX512F), as torch or Linux's flags say."""
    get_capabilities = getattr(torch.cpu, "get_capabilities", None)
    if get_capabilities is not None:
        return bool(get_capabilities().get("avx512_f", False))
    return "avx512f" in linux_cpu_flags()


def linux_cpu_flags() -> set[str]:
    """The first processor's flags in /proc/cpuinfo; empty where there is no such file."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def fp16_is_fast(device: torch.device) -> bool:
    """Tensor cores run fp16 from compute capability 7.0 (Volta, Turing: Colab's T4)."""
    return device.type == "cuda" and cuda_capability(device) >= (7, 0)


def network_dtype(device: torch.device, precision: PrecisionName) -> torch.dtype | None:
    """The dtype the network runs in, or None for plain fp32.

    ``auto``: on CUDA, fp16 (with a loss scale, see optimize.py) on every card with tensor
    cores, even where bf16 is native. Measured on an H200 (benchmarks/bench_gpu.py, 394x480):
    fp16's image gradient has cosine 0.998 to fp32's against bf16's 0.985, at the same speed
    (3.31 against 3.25 ms per iteration), and on a 256x192 frame 40 L-BFGS iterations with bf16
    never got below the starting loss (5.32; fp32 and fp16 reached 1.00, tests/test_cuda.py).
    On CPUs, bf16 where it is native (fp16 is emulated there), else fp32; elsewhere fp32.
    Gram matrices and losses are computed in fp32 whatever this says (losses.py).
    """
    if precision == "fp32":
        return None
    if precision in ("bf16", "fp16"):
        if device.type not in ("cpu", "cuda"):
            raise DeviceError(f"--precision {precision} is not supported on {device.type}")
        return torch.bfloat16 if precision == "bf16" else torch.float16
    if device.type == "cuda":
        return torch.float16 if fp16_is_fast(device) else None
    return torch.bfloat16 if bf16_is_fast(device) else None


def warn_of_slow_settings(device: torch.device, engine: EngineSettings) -> None:
    """A warning for each engine setting the user chose that makes this device slow.

    A precision it only emulates: one step at 128x96 on a 2-core AVX-512 Xeon without
    AVX512-BF16 took 217 ms in fp32, 528 ms in bf16 and 11.2 s in fp16. More CPU threads than
    cores: one step at 176x144 there took 280 ms with 2 threads, 307 with 8 and 602 with 64,
    the threads waiting for each other (2026-11-29).
    """
    precision = engine.precision
    slow = (precision == "bf16" and not bf16_is_fast(device)) or (precision == "fp16" and not fp16_is_fast(device))
    if slow and device.type in ("cpu", "cuda"):
        log.warning(
            "--precision %s is emulated on this %s and runs slower than fp32 there; --precision auto chooses the "
            "fastest",
            precision,
            "CPU" if device.type == "cpu" else "GPU",
        )
    cores = network_threads(None)
    if device.type == "cpu" and engine.threads is not None and engine.threads > cores:
        log.warning(
            "--threads %d is more than the %s this process may use: the threads wait for each other, and a "
            "render runs slower than with %d",
            engine.threads,
            "1 core" if cores == 1 else f"{cores} cores",
            cores,
        )


# Peak memory of stylizing a frame, per pixel, beyond the loaded network (activations for the
# backward pass, L-BFGS's history, the pyramid, the temporal terms; on CUDA the kept graphs
# too): docs/experiments.md, "Memory per pixel".
BYTES_PER_PIXEL = {"cpu": 4000, "cpu bf16": 3500, "cuda": 14000}


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


def _shortfall(device: torch.device, needed: int) -> tuple[int, float] | None:
    """None when ``needed`` bytes fit on ``device`` (or its memory cannot be told); else the
    bytes free, and the factor that shrinks an image's sides to fit with 10% to spare."""
    free = available_memory(device)
    if free is None or needed <= free:
        return None
    return free, (free / needed) ** 0.5 * 0.9


def frame_bytes(device: torch.device, precision: PrecisionName, width: int, height: int) -> int:
    """Peak memory of stylizing a frame this big, beyond the loaded network (``BYTES_PER_PIXEL``)."""
    if device.type == "cuda":
        per_pixel = BYTES_PER_PIXEL["cuda"]
    elif network_dtype(device, precision) == torch.bfloat16:
        per_pixel = BYTES_PER_PIXEL["cpu bf16"]
    else:
        per_pixel = BYTES_PER_PIXEL["cpu"]
    return width * height * per_pixel


# Peak memory of the detail pass per pixel of the delivered frame (docs/experiments.md,
# "Memory per pixel"): a 4K frame is refined at about 3100x1750 on a 24 GB machine.
DETAIL_BYTES_PER_PIXEL = 2000
# The share of free memory the detail pass may take; above it, it refines at a smaller size.
DETAIL_MEMORY_SHARE = 0.5


def detail_size_that_fits(device: torch.device, precision: PrecisionName, size: tuple[int, int]) -> tuple[int, int]:
    """The size the detail pass refines at: ``size`` (width, height), or, where that does not
    fit in ``DETAIL_MEMORY_SHARE`` of the free memory (a 4K frame on a small card), the largest
    size of its shape that does; the rest of the way is a Lanczos enlargement."""
    free = available_memory(device)
    width, height = size
    if free is None or width * height * DETAIL_BYTES_PER_PIXEL <= free * DETAIL_MEMORY_SHARE:
        return size
    shrink = (free * DETAIL_MEMORY_SHARE / (width * height * DETAIL_BYTES_PER_PIXEL)) ** 0.5
    return max(16, int(width * shrink) // 2 * 2), max(16, int(height * shrink) // 2 * 2)


def check_frame_fits(
    device: torch.device, precision: PrecisionName, width: int, height: int, *, units: int = 1
) -> None:
    """Raise DeviceError, with a --size that would fit, when ``units`` frames painted at once
    are too big for memory."""
    needed = units * frame_bytes(device, precision, width, height)
    short = _shortfall(device, needed)
    if short is None:
        return
    free, shrink = short
    fitting = int(max(width, height) * shrink) // 16 * 16
    what = f"a {width}x{height} frame needs" if units == 1 else f"{units} units of {width}x{height} frames need"
    fewer = "" if units == 1 else " or fewer --units"
    raise DeviceError(
        f"{what} about {needed / 2**30:.1f} GiB to stylize and {device.type} has "
        f"{free / 2**30:.1f} GiB free; use --size {max(16, fitting)} or smaller{fewer}"
    )


# Peak memory of measuring a style image's Grams (a forward pass, no gradients) per pixel of
# it: about 0.75 KB/px between 1536 and 2304 px (The Starry Night on a CPU, 2026-11-29);
# 1 KB/px leaves a margin.
STYLE_BYTES_PER_PIXEL = 1024


def check_style_fits(device: torch.device, width: int, height: int, scale: float) -> None:
    """Raise DeviceError, with a --style-scale that would fit, when a style image this big
    (``scale`` times the content) is too big to measure."""
    needed = width * height * STYLE_BYTES_PER_PIXEL
    short = _shortfall(device, needed)
    if short is None:
        return
    free, shrink = short
    fitting = scale * shrink
    raise DeviceError(
        f"--style-scale {scale:g} makes a {width}x{height} style image, which needs about {needed / 2**30:.1f} GiB "
        f"to measure and {device.type} has {free / 2**30:.1f} GiB free; use --style-scale {fitting:.1f} or smaller"
    )


def network_threads(threads: int | None) -> int:
    """The network's CPU threads: ``threads``, or every core this process may use."""
    return threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def configure_threads(threads: int, opencv_threads: int) -> None:
    """Set the network's CPU threads and OpenCV's (process-wide settings)."""
    torch.set_num_threads(threads)
    cv2.setNumThreads(opencv_threads)


@contextlib.contextmanager
def render_threads(threads: int, opencv_threads: int) -> Iterator[None]:
    """``configure_threads`` for the length of a render; the caller's settings come back after:
    torch's and OpenCV's thread counts are process-wide, and a library should not leave them
    changed."""
    torch_threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    try:
        configure_threads(threads, opencv_threads)
        yield
    finally:
        torch.set_num_threads(torch_threads)
        cv2.setNumThreads(cv2_threads)
