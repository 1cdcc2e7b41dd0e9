"""Bringing a neighbour's stylized output into this frame along the flow: with OpenCV on the
CPU (``HostWarps``), or with torch on the network's device (``DeviceWarps``).

Between two frames the GPU waits while the next frame is planned, and planning a later frame
warps the outputs before it: on a CPU core, one Lanczos warp of a 392x480 output took 18 ms
and the warm start with its holes filled 50 ms, three warps a frame, against about 50 ms of
GPU time for the frame's 15 iterations. On a lent H200, doing them there saved 74 ms a later
frame at 394x480 (benchmarks/bench_gpu.py). The device's arithmetic is OpenCV's (cv2.remap's
Lanczos taps at 1/32 pixel, cv2.GaussianBlur's kernel and borders), so the two match to a
small fraction of a grey level (tests/test_device_warps.py). numpy in, numpy out.
"""

from __future__ import annotations

import math
from typing import Protocol

import cv2
import numpy as np
import torch

from vidstyle.flow.motion import Motion, sample_maps


def warp(image: np.ndarray, flow: np.ndarray, *, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Sample ``image`` at x + flow(x): the image brought into the flow's source geometry.

    Bilinear unless another OpenCV ``interpolation`` is given; outside the image the nearest
    edge pixel is repeated (those pixels are marked unreliable by ``reliability_mask`` and
    filled by the caller). uint8 in, float32 out.
    """
    map_x, map_y = sample_maps(flow)
    source = image.astype(np.float32, copy=False)
    return cv2.remap(source, map_x, map_y, interpolation=interpolation, borderMode=cv2.BORDER_REPLICATE)


def warp_stylized(previous: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """``previous`` (a stylized output, uint8 (H, W, 3)) warped into this frame: float32
    (H, W, 3) in 0-255, its holes as the sampling leaves them (see ``warp_with_fill``).

    Lanczos, not bilinear: a stylized frame is all brush strokes, and bilinear sampling at a
    half-pixel offset blurs them. Once pinned by the temporal loss, that blur compounds frame
    after frame: five half-pixel warps of a stylized picture raised its style loss by 233%
    bilinear, 18% bicubic and 9% Lanczos.
    """
    return np.clip(warp(previous, backward, interpolation=cv2.INTER_LANCZOS4), 0.0, 255.0)


def warp_with_fill(previous: np.ndarray, backward: np.ndarray, content: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """``warp_stylized``, its ``holes`` filled from ``content`` in the colours the warped
    output has around them: a warm start. previous, content: uint8 (H, W, 3).

    Ruder et al. fill holes (disoccluded or out-of-frame pixels) with the content itself. Raw
    photo among painted pixels is far from any optimum: on pens.mp4 a later frame's 50
    iterations left it paler than its surroundings, a band the shape of a moving pen's former
    edge (a ghost of it), and 15 iterations more so. The content shifted by the local colour
    difference between the warped output and the content starts those pixels in the
    painting's palette with the content's shapes (``_in_colours_of``): the style loss fell
    10% at 50 iterations, and 15 became enough (docs/experiments.md, "Later frames").
    """
    warped = warp_stylized(previous, backward)
    if holes.any():
        warped[holes] = _in_colours_of(content, warped, ~holes)[holes]
    return warped


# The hole fill's reach: a Gaussian of this fraction of the frame's long side, at least this many pixels.
HOLE_FILL_SIGMA_FRACTION = 1 / 32
MIN_HOLE_FILL_SIGMA = 2.0


def _in_colours_of(content: np.ndarray, painted: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``content`` plus the local mean of (painted - content) over the ``known`` pixels: a
    Gaussian-weighted mean (normalized convolution, sigma 1/32 of the long side), so that
    a hole takes the colour shift of the painted pixels nearest to it. float32, 0-255."""
    content = content.astype(np.float32)
    if not known.any():
        return content
    height, width = known.shape
    sigma = max(MIN_HOLE_FILL_SIGMA, max(height, width) * HOLE_FILL_SIGMA_FRACTION)
    weight = known.astype(np.float32)
    shift = cv2.GaussianBlur((painted - content) * weight[..., None], (0, 0), sigma)
    # Where no known pixel is near, both blurs are near zero: divide by at least a little.
    norm = cv2.GaussianBlur(weight, (0, 0), sigma)
    return np.clip(content + shift / np.maximum(norm, 1e-3)[..., None], 0.0, 255.0)


class Warps(Protocol):
    """How a neighbour's output (uint8 (H, W, 3)) is brought into this frame: float32 (H, W, 3), 0-255."""

    def start(self, output: np.ndarray, content: np.ndarray, motion: Motion) -> np.ndarray:
        """Warped to start this frame: holes from the content in the warped output's colours
        around them (Ruder et al. fill them from the content as it is)."""
        ...

    def target(self, output: np.ndarray, motion: Motion) -> np.ndarray:
        """Warped where it is weighted by the flow's reliability (a temporal target, a blend):
        zero in the holes, so they are not filled."""
        ...


class HostWarps:
    """Warps with OpenCV on the CPU; ``DeviceWarps`` does the same on a GPU."""

    def start(self, output: np.ndarray, content: np.ndarray, motion: Motion) -> np.ndarray:
        return warp_with_fill(output, motion.backward, content, motion.reliability.holes)

    def target(self, output: np.ndarray, motion: Motion) -> np.ndarray:
        return warp_stylized(output, motion.backward)


HOST_WARPS = HostWarps()


# cv2.remap turns each sample position into 1/32 pixel steps (INTER_BITS = 5) and takes the
# Lanczos weights of that step from a table.
_STEPS = 32
_TAPS = 8  # Lanczos4: 4 taps each side, from floor(x) - 3 to floor(x) + 4


def _lanczos4_table() -> torch.Tensor:
    """(32, 8) weights: for fraction k/32, the taps floor(x) - 3 .. floor(x) + 4, summing to 1
    (OpenCV's interpolateLanczos4)."""
    fraction = torch.arange(_STEPS, dtype=torch.float64)[:, None] / _STEPS
    distance = fraction + 3 - torch.arange(_TAPS, dtype=torch.float64)[None, :]
    angle = math.pi * distance
    weights = 4 * torch.sin(angle) * torch.sin(angle / 4) / angle**2  # 0/0 at distance 0, replaced next
    weights = torch.where(distance.abs() < 1e-6, torch.ones_like(weights), weights)
    return (weights / weights.sum(dim=1, keepdim=True)).float()


def _reflect_101(index: torch.Tensor, size: int) -> torch.Tensor:
    """OpenCV's BORDER_REFLECT_101 (cv2.GaussianBlur's border) for indices however far out."""
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    index = index.abs() % period
    return torch.where(index >= size, period - index, index)


def _blur_matrix(size: int, sigma: float) -> torch.Tensor:
    """(size, size) M with M @ x = cv2.GaussianBlur of x along one axis, its border included:
    cv2.getGaussianKernel's taps for a float image (8 sigma + 1 of them, odd, summing to 1),
    each added where BORDER_REFLECT_101 puts it."""
    taps = round(sigma * 8 + 1) | 1
    radius = (taps - 1) // 2
    offsets = torch.arange(taps, dtype=torch.float64) - radius
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    rows = torch.arange(size)[:, None].expand(size, taps)
    columns = _reflect_101(rows + offsets.long(), size)
    matrix = torch.zeros(size, size, dtype=torch.float64)
    matrix.index_put_((rows.reshape(-1), columns.reshape(-1)), kernel.repeat(size), accumulate=True)
    return matrix.float()


class DeviceWarps:
    """The warps a FramePlanner needs (``Warps``), on ``device``."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._table = _lanczos4_table().to(device)
        self._blur_size: tuple[int, int] | None = None
        self._blur_by: tuple[torch.Tensor, torch.Tensor]

    def start(self, output: np.ndarray, content: np.ndarray, motion: Motion) -> np.ndarray:
        """``warp_with_fill``: the warm start, holes in the painted colours around them."""
        holes = motion.reliability.holes
        if holes.all():  # nothing of the output lands in this frame
            return content.astype(np.float32)
        warped = self._warp(output, motion.backward)
        if holes.any():
            known = torch.from_numpy(~holes).to(self.device)
            filled = self._in_colours_of(self._upload(content), warped, known)
            warped = torch.where(known[None], warped, filled)
        return self._download(warped)

    def target(self, output: np.ndarray, motion: Motion) -> np.ndarray:
        """``warp_stylized``: an output warped into this frame, holes as the sampling leaves them."""
        return self._download(self._warp(output, motion.backward))

    def _upload(self, frame: np.ndarray) -> torch.Tensor:
        """uint8 (H, W, 3) -> float32 (3, H, W) on the device, 0-255."""
        return torch.from_numpy(np.ascontiguousarray(frame)).to(self.device).permute(2, 0, 1).float()

    def _download(self, image: torch.Tensor) -> np.ndarray:
        return image.permute(1, 2, 0).contiguous().cpu().numpy()

    def _warp(self, output: np.ndarray, backward: np.ndarray) -> torch.Tensor:
        """cv2.remap(..., INTER_LANCZOS4, BORDER_REPLICATE) at x + flow(x), clipped to 0-255."""
        image = self._upload(output)
        channels, height, width = image.shape
        flow = torch.from_numpy(backward).to(self.device)
        rows = torch.arange(height, device=self.device, dtype=torch.float32)[:, None]
        columns = torch.arange(width, device=self.device, dtype=torch.float32)[None, :]
        # cv2: the position in 1/32 pixels, rounded half to even (cvRound), split into whole and fraction.
        x = torch.round((columns + flow[..., 0]) * _STEPS).long()
        y = torch.round((rows + flow[..., 1]) * _STEPS).long()
        taps = torch.arange(_TAPS, device=self.device) - 3
        tap_x = (torch.div(x, _STEPS, rounding_mode="floor")[..., None] + taps).clamp(0, width - 1)  # (H, W, 8)
        tap_y = (torch.div(y, _STEPS, rounding_mode="floor")[..., None] + taps).clamp(0, height - 1)
        weight_x = self._table[x % _STEPS]  # (H, W, 8)
        weight_y = self._table[y % _STEPS]
        flat = image.reshape(channels, -1)
        warped = torch.zeros_like(image)
        for tap in range(_TAPS):  # one row of taps at a time: 8 samples a pixel, not 64
            index = (tap_y[..., tap, None] * width + tap_x).reshape(-1)
            row = (flat[:, index].reshape(channels, height, width, _TAPS) * weight_x).sum(dim=-1)
            warped += weight_y[..., tap] * row
        return warped.clamp(0.0, 255.0)

    def _blurs(self, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The hole fill's Gaussian blur along the columns and along the rows of a frame this
        size, as matrices (see ``_blur_matrix``), made once per size."""
        if self._blur_size != (height, width):
            sigma = max(MIN_HOLE_FILL_SIGMA, max(height, width) * HOLE_FILL_SIGMA_FRACTION)
            self._blur_by = (_blur_matrix(height, sigma).to(self.device), _blur_matrix(width, sigma).to(self.device))
            self._blur_size = (height, width)
        return self._blur_by

    def _in_colours_of(self, content: torch.Tensor, painted: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """``_in_colours_of``: the content plus the Gaussian-weighted local mean of (painted -
        content) over the known pixels. The blurs are fp32 matrix products: TF32 stays off
        for them unless the user turned it on for all of torch."""
        down, across = self._blurs(*known.shape)
        weight = known.float()
        both = torch.cat([(painted - content) * weight, weight[None]])  # shift (3 channels) and norm (1)
        blurred = down @ both @ across.T
        shift, norm = blurred[:3], blurred[3:]
        return (content + shift / norm.clamp(min=1e-3)).clamp(0.0, 255.0)
