"""Device choice, precision, and the memory check that suggests a --size."""

from __future__ import annotations

import re

import pytest
import torch

from vidstyle import device as device_module
from vidstyle.device import BYTES_PER_PIXEL, autocast_dtype, check_frame_fits, resolve_device
from vidstyle.errors import DeviceError


def test_auto_device_is_available() -> None:
    chosen = resolve_device("auto")
    assert chosen.type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_precision_choices() -> None:
    cpu = torch.device("cpu")
    assert autocast_dtype(cpu, "fp32") is None
    assert autocast_dtype(cpu, "bf16") is torch.bfloat16
    assert autocast_dtype(cpu, "auto") in (None, torch.bfloat16)


def test_a_frame_too_big_for_memory_names_a_size_that_fits(monkeypatch) -> None:
    free = 2 * 2**30
    monkeypatch.setattr(device_module, "available_memory", lambda _: free)
    check_frame_fits(torch.device("cpu"), 640, 360)  # 0.9 GB: fits
    with pytest.raises(DeviceError, match=r"--size \d+") as caught:
        check_frame_fits(torch.device("cpu"), 3840, 2160)
    suggested = int(re.search(r"--size (\d+)", str(caught.value)).group(1))  # type: ignore[union-attr]
    height = suggested * 2160 // 3840
    assert suggested * height * BYTES_PER_PIXEL <= free
    ideal = (free / BYTES_PER_PIXEL * 3840 / 2160) ** 0.5  # the long side that just fits
    assert suggested >= 0.8 * ideal  # not needlessly small
