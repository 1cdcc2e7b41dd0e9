"""Device choice, precision, and the memory check that suggests a --size."""

from __future__ import annotations

import re

import pytest
import torch

from vidstyle import device as device_module
from vidstyle.cli import main
from vidstyle.device import (
    BYTES_PER_PIXEL,
    STYLE_BYTES_PER_PIXEL,
    check_frame_fits,
    check_style_fits,
    network_dtype,
    resolve_device,
)
from vidstyle.errors import DeviceError


def test_auto_device_is_available() -> None:
    chosen = resolve_device("auto")
    assert chosen.type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_explicit_precisions() -> None:
    cpu = torch.device("cpu")
    assert network_dtype(cpu, "fp32") is None
    assert network_dtype(cpu, "bf16") is torch.bfloat16
    assert network_dtype(cpu, "fp16") is torch.float16
    with pytest.raises(DeviceError, match="bf16 is not supported on mps"):
        network_dtype(torch.device("mps"), "bf16")


@pytest.mark.parametrize(
    ("capability", "expected"),
    [
        ((9, 0), torch.float16),  # H100: bf16 is native, but fp16 measured better (device.py)
        ((8, 0), torch.float16),  # A100
        ((7, 5), torch.float16),  # T4, RTX 20x0
        ((7, 0), torch.float16),  # V100
        ((6, 1), None),  # GTX 10x0: no tensor cores
    ],
)
def test_auto_precision_follows_the_cuda_capability(monkeypatch, capability, expected) -> None:
    monkeypatch.setattr(device_module, "cuda_capability", lambda _: capability)
    assert network_dtype(torch.device("cuda"), "auto") is expected
    # torch.cuda.is_bf16_supported() says yes on 7.x too (emulation); the capability decides.
    assert device_module.bf16_is_fast(torch.device("cuda")) == (capability >= (8, 0))


@pytest.mark.parametrize(("native", "expected"), [(True, torch.bfloat16), (False, None)])
def test_auto_precision_on_cpu_follows_native_bf16(monkeypatch, native, expected) -> None:
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: native)
    assert network_dtype(torch.device("cpu"), "auto") is expected
    assert network_dtype(torch.device("mps"), "auto") is None


@pytest.mark.parametrize(
    ("features", "native"),
    [
        ({"avx512_f": True, "avx512_bw": True, "avx512_bf16": False, "amx_bf16": False}, False),  # emulated
        ({"avx512_f": True, "avx512_bf16": True, "amx_bf16": False}, True),  # Cooper Lake, Zen 4
        ({"avx512_f": True, "avx512_bf16": True, "amx_bf16": True}, True),  # Sapphire Rapids
        ({"avx2": True}, False),
    ],
)
def test_native_bf16_is_read_from_the_cpu_features(monkeypatch, features, native) -> None:
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: features, raising=False)
    assert device_module.cpu_has_native_bf16() is native
    # Without torch's capabilities, Linux's flags answer the same.
    monkeypatch.delattr(torch.cpu, "get_capabilities", raising=False)
    monkeypatch.setattr(device_module, "linux_cpu_flags", lambda: {name for name, on in features.items() if on})
    assert device_module.cpu_has_native_bf16() is native


def test_linux_cpu_flags_agree_with_torch() -> None:
    flags = device_module.linux_cpu_flags()
    if not flags or not hasattr(torch.cpu, "get_capabilities"):
        pytest.skip("needs /proc/cpuinfo and torch.cpu.get_capabilities")
    capabilities = torch.cpu.get_capabilities()
    for feature in ("avx2", *device_module.NATIVE_BF16_FEATURES):
        assert (feature in flags) == bool(capabilities.get(feature, False)), feature
    # Linux names AVX-512's foundation avx512f, torch avx512_f.
    assert ("avx512f" in flags) == bool(capabilities.get("avx512_f", False))


@pytest.mark.parametrize(
    ("features", "flags", "avx512"), [({"avx512_f": True}, {"avx512f"}, True), ({"avx2": True}, {"avx2"}, False)]
)
def test_avx512_is_read_from_the_cpu_features(monkeypatch, features, flags, avx512) -> None:
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: features, raising=False)
    assert device_module.cpu_has_avx512() is avx512
    monkeypatch.delattr(torch.cpu, "get_capabilities", raising=False)
    monkeypatch.setattr(device_module, "linux_cpu_flags", lambda: flags)
    assert device_module.cpu_has_avx512() is avx512


@pytest.mark.parametrize(("precision", "per_pixel"), [("fp32", "cpu"), ("bf16", "cpu bf16")])
def test_a_frame_too_big_for_memory_names_a_size_that_fits(monkeypatch, precision: str, per_pixel: str) -> None:
    free = 2 * 2**30
    monkeypatch.setattr(device_module, "available_memory", lambda _: free)
    cpu = torch.device("cpu")
    check_frame_fits(cpu, precision, 640, 360)  # 0.9 GB: fits
    with pytest.raises(DeviceError, match=r"--size \d+") as caught:
        check_frame_fits(cpu, precision, 3840, 2160)
    suggested = int(re.search(r"--size (\d+)", str(caught.value)).group(1))  # type: ignore[union-attr]
    height = suggested * 2160 // 3840
    bytes_per_pixel = BYTES_PER_PIXEL[per_pixel]
    assert device_module.frame_bytes(cpu, precision, suggested, height) == suggested * height * bytes_per_pixel
    assert suggested * height * bytes_per_pixel <= free
    ideal = (free / bytes_per_pixel * 3840 / 2160) ** 0.5  # the long side that just fits
    assert suggested >= 0.8 * ideal  # not needlessly small


def test_a_style_too_big_for_memory_names_a_style_scale_that_fits(
    monkeypatch, capsys, starry_night, pens_clip, tmp_path
) -> None:
    free = 2 * 2**30
    monkeypatch.setattr(device_module, "available_memory", lambda _: free)
    check_style_fits(torch.device("cpu"), 1200, 950, 3.0)  # 1.1 GB: fits
    with pytest.raises(DeviceError, match=r"--style-scale [\d.]+ or smaller") as caught:
        check_style_fits(torch.device("cpu"), 4000, 3000, 8.0)
    suggested = float(re.search(r"--style-scale ([\d.]+) or", str(caught.value)).group(1))  # type: ignore[union-attr]
    assert 4000 * 3000 * (suggested / 8) ** 2 * STYLE_BYTES_PER_PIXEL <= free
    assert suggested >= 0.8 * 8 * (free / (4000 * 3000 * STYLE_BYTES_PER_PIXEL)) ** 0.5  # not needlessly small
    # Through the CLI: one line and exit 1 before anything that size is made.
    args = [
        str(pens_clip),
        "--style",
        str(starry_night),
        "--size",
        "64",
        "--style-scale",
        "40",
        "-o",
        str(tmp_path / "x.mp4"),
    ]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "makes a 2560x2010 style image" in err[0]


@pytest.mark.parametrize(
    ("precision", "native_bf16", "warned"),
    [
        ("fp16", True, True),
        ("bf16", False, True),
        ("bf16", True, False),
        ("fp32", False, False),
        ("auto", False, False),
    ],
)
def test_an_emulated_precision_asked_for_is_warned_of_once(
    monkeypatch, photo_path, starry_night, tmp_path, capsys, precision, native_bf16, warned
) -> None:
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: native_bf16)
    args = [str(photo_path), "--style", str(starry_night), "-o", str(tmp_path / "out.png"), "--device", "cpu"]
    options = ["--precision", precision, "--size", "24", "--iterations", "1", "--scales", "1", "-q"]
    assert main(args + options) == 0
    err = capsys.readouterr().err.splitlines()
    expected = [
        f"vidstyle: warning: --precision {precision} is emulated on this CPU and runs slower than fp32 there; "
        "--precision auto chooses the fastest"
    ]
    assert err == (expected if warned else [])


@pytest.mark.parametrize("extra", [0, 7])
def test_more_threads_than_cores_are_warned_of(photo_path, starry_night, tmp_path, capsys, extra: int) -> None:
    cores = device_module.network_threads(None)
    args = [str(photo_path), "--style", str(starry_night), "-o", str(tmp_path / "out.png"), "--device", "cpu"]
    options = ["--threads", str(cores + extra), "--size", "24", "--iterations", "1", "--scales", "1", "-q"]
    assert main(args + options) == 0
    expected = [
        f"vidstyle: warning: --threads {cores + extra} is more than the {cores} cores this process may use: the "
        f"threads wait for each other, and a render runs slower than with {cores}"
    ]
    assert capsys.readouterr().err.splitlines() == (expected if extra else [])


def test_units_at_once_are_counted_in_the_memory_check(monkeypatch) -> None:
    # Three units of 640x360 frames hold three frames' memory at once: 2.6 GB of 2 GiB.
    monkeypatch.setattr(device_module, "available_memory", lambda _: 2 * 2**30)
    cpu = torch.device("cpu")
    check_frame_fits(cpu, "fp32", 640, 360, units=2)
    with pytest.raises(DeviceError, match=r"3 units of 640x360 frames need about 2\.6 GiB .* or fewer --units"):
        check_frame_fits(cpu, "fp32", 640, 360, units=3)
