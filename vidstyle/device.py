"""Choosing the torch device and the autocast precision from the settings."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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
