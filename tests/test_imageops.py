"""Frames, images, resizing, colour spaces, and reading huge files without huge memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.conftest import textured_frame
from vidstyle import imageops
from vidstyle.errors import InputFileError, NotMediaError
from vidstyle.sizes import fit_long_side


def test_frame_image_round_trip_is_exact() -> None:
    frame = textured_frame(33, 17)
    image = imageops.frame_to_image(frame)
    assert image.shape == (1, 3, 17, 33) and image.dtype == torch.float32
    assert image.min().item() >= 0.0 and image.max().item() <= 1.0
    assert np.array_equal(imageops.image_to_frame(image), frame)


def test_a_warped_float_frame_is_converted_without_being_changed() -> None:
    # Warped outputs are float32 frames; the warm start and the nearest temporal target share one.
    warped = textured_frame(33, 17).astype(np.float32) + 0.25
    kept = warped.copy()
    first, second = imageops.frame_to_image(warped), imageops.frame_to_image(warped)
    assert np.array_equal(warped, kept)
    assert torch.equal(first, second) and first.dtype == torch.float32
    torch.testing.assert_close(first[0].permute(1, 2, 0) * 255.0, torch.from_numpy(kept), rtol=1e-6, atol=1e-4)


def test_fit_long_side() -> None:
    assert fit_long_side(1920, 1080, 480) == (480, 270)
    assert fit_long_side(1080, 1920, 480) == (270, 480)
    assert fit_long_side(175, 143, None, even=True) == (176, 144)
    assert fit_long_side(640, 480, None) == (640, 480)


def test_ycbcr_round_trip_and_luminance() -> None:
    image = torch.rand(1, 3, 5, 6)
    torch.testing.assert_close(imageops.ycbcr_to_rgb(imageops.rgb_to_ycbcr(image)), image, atol=1e-5, rtol=0)
    grey = imageops.luminance_image(image)
    assert torch.equal(grey[:, 0], grey[:, 1]) and torch.equal(grey[:, 1], grey[:, 2])
    combined = imageops.combine_luminance(grey, image)
    torch.testing.assert_close(combined, image, atol=1e-5, rtol=0)


def test_read_image_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        imageops.read_image(tmp_path / "missing.jpg")
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not a picture")
    with pytest.raises(NotMediaError, match="not an image"):
        imageops.read_image(junk)


def test_read_image_applies_size_cap(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    cv2.imwrite(str(path), textured_frame(300, 100))
    frame = imageops.read_image(path, max_long_side=150)
    assert frame.shape == (50, 150, 3)


@pytest.mark.parametrize("extension", [".png", ".webp", ".bmp", ".tif", ".jpg"])
def test_read_image_reads_images_under_8_px(tmp_path: Path, extension: str) -> None:
    # OpenCV's 1/8 decoders of most formats raise on these; the image is read whole instead.
    path = tmp_path / f"tiny{extension}"
    bgr = np.full((5, 7, 3), (10, 120, 240), np.uint8)
    cv2.imwrite(str(path), bgr)
    frame = imageops.read_image(path, max_long_side=16)
    assert frame.shape == (5, 7, 3)
    assert np.abs(frame[2, 3].astype(int) - (240, 120, 10)).max() <= 3


_HUGE_READ = """
import resource, sys
from vidstyle.imageops import read_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
frame = read_image(sys.argv[1], max_long_side=512)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(frame.shape[0], frame.shape[1], (after - before) // 1024)
"""


@pytest.mark.slow
def test_huge_image_is_downscaled_on_load_without_full_decode(tmp_path: Path) -> None:
    # 12000 x 12000 RGB would be 432 MB decoded; libjpeg's 1/8 scaling decodes 1500 x 1500.
    side = 12000
    gradient = np.linspace(0, 255, side, dtype=np.float32).astype(np.uint8)
    huge = np.empty((side, side, 3), dtype=np.uint8)
    huge[..., 0] = gradient[None, :]
    huge[..., 1] = gradient[:, None]
    huge[..., 2] = 128
    path = tmp_path / "huge.jpg"
    assert cv2.imwrite(str(path), huge, [cv2.IMWRITE_JPEG_QUALITY, 80])
    del huge
    result = subprocess.run([sys.executable, "-c", _HUGE_READ, str(path)], capture_output=True, text=True, check=True)
    height, width, grown_mb = (int(v) for v in result.stdout.split())
    assert (height, width) == (512, 512)
    assert grown_mb < 100, f"peak memory grew by {grown_mb} MB"


def test_read_alpha(tmp_path: Path) -> None:
    rgba = np.full((60, 80, 4), 255, np.uint8)
    rgba[:, :40, 3] = 0  # the left half transparent
    cv2.imwrite(str(tmp_path / "half.png"), rgba)
    alpha = imageops.read_alpha(tmp_path / "half.png", 40, 30)
    assert alpha is not None and alpha.shape == (30, 40)
    assert alpha[:, :19].max() == 0 and alpha[:, 21:].min() == 255
    assert imageops.read_alpha(tmp_path / "half.png", 30, 40) is None  # turned: it would not line up
    rgba[..., 3] = 255
    cv2.imwrite(str(tmp_path / "opaque.png"), rgba)
    assert imageops.read_alpha(tmp_path / "opaque.png", 40, 30) is None
    cv2.imwrite(str(tmp_path / "plain.png"), rgba[..., :3])
    assert imageops.read_alpha(tmp_path / "plain.png", 40, 30) is None
