"""TV-L1 optical flow in torch, batched: the flow a GPU computes itself.

Zach, Pock & Bischof 2007 ("A duality based approach for realtime TV-L1 optical flow"), with
Wedel et al. 2009's median filter after each warp, as Sánchez, Meinhardt-Llopis & Facciolo
describe it (IPOL 2013, "TV-L1 optical flow estimation") and OpenCV's DualTVL1 implements it:
a coarse-to-fine pyramid; at each level a few warps, each a fixed number of primal-dual
iterations. Fixed counts instead of IPOL's stopping test: a test reads the GPU every
iteration, and fixed shapes and counts let one CUDA graph replay a whole flow.

Every step is element-wise or a small stencil, so a batch of flows (a frame's three
neighbours, both ways) runs as one. On a GPU that is a few milliseconds where OpenCV's DIS
takes a CPU core about 0.4 s a flow at 394x480; on a CPU it is slower than DIS.

Tensors: grey images (B, 1, H, W) in 0-255, flows (B, 2, H, W) as (dx, dy) in pixels,
``flow(a, b)`` mapping each pixel x of a to x + flow(x) in b, as in flow.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TVL1Settings:
    """IPOL's defaults for tau, lambda and theta (images in 0-255), OpenCV's for the counts."""

    tau: float = 0.25  # time step of the dual update
    lam: float = 0.15  # weight of the data term (higher: follow the images, lower: smoother)
    theta: float = 0.3  # coupling between the two primal variables
    zoom: float = 0.5  # each pyramid level's size relative to the next
    min_side: int = 16  # the coarsest level's short side, at least
    max_scales: int = 5
    warps: int = 5
    iterations: int = 30  # per warp
    median: int = 5  # Wedel et al.'s median filter after each warp (0: none)


def _warp(images: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """``images`` (B, C, H, W) sampled at x + flow(x), bilinearly, edges repeated."""
    _, _, height, width = images.shape
    ys = torch.arange(height, device=images.device, dtype=images.dtype).view(1, height, 1)
    xs = torch.arange(width, device=images.device, dtype=images.dtype).view(1, 1, width)
    grid_x = (xs + flow[:, 0]) * (2.0 / max(width - 1, 1)) - 1.0
    grid_y = (ys + flow[:, 1]) * (2.0 / max(height - 1, 1)) - 1.0
    grid = torch.stack((grid_x, grid_y), dim=-1)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=True)


def _centred_gradient(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Central differences, one-sided at the borders (IPOL's image gradient)."""
    padded = F.pad(image, (1, 1, 1, 1), mode="replicate")
    gx = (padded[..., 1:-1, 2:] - padded[..., 1:-1, :-2]) * 0.5
    gy = (padded[..., 2:, 1:-1] - padded[..., :-2, 1:-1]) * 0.5
    return gx, gy


def _forward_gradient(field: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward differences, zero in the last column (x) and row (y)."""
    gx = F.pad(field[..., :, 1:] - field[..., :, :-1], (0, 1, 0, 0))
    gy = F.pad(field[..., 1:, :] - field[..., :-1, :], (0, 0, 0, 1))
    return gx, gy


def _divergence(px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """The negative adjoint of ``_forward_gradient``: px and py are zero in their last column
    and row (the dual update keeps them so), so backward differences with a zero before."""
    return px - F.pad(px[..., :, :-1], (1, 0, 0, 0)) + py - F.pad(py[..., :-1, :], (0, 0, 1, 0))


def _median(field: torch.Tensor, size: int) -> torch.Tensor:
    """Each channel's ``size`` x ``size`` median, edges repeated."""
    batch, channels, height, width = field.shape
    half = size // 2
    padded = F.pad(field.reshape(batch * channels, 1, height, width), (half, half, half, half), mode="replicate")
    windows = F.unfold(padded, size)  # (B*C, size*size, H*W)
    return windows.median(dim=1).values.view(batch, channels, height, width)


def _pyramid(images: torch.Tensor, settings: TVL1Settings) -> list[torch.Tensor]:
    """The images at each level, finest first; each level antialiased before it shrinks."""
    levels = [images]
    while len(levels) < settings.max_scales:
        height, width = levels[-1].shape[-2:]
        size = (round(height * settings.zoom), round(width * settings.zoom))
        if min(size) < settings.min_side:
            break
        levels.append(F.interpolate(levels[-1], size=size, mode="bilinear", antialias=True, align_corners=False))
    return levels


def _solve_level(
    grey_a: torch.Tensor, grey_b: torch.Tensor, flow: torch.Tensor, settings: TVL1Settings
) -> torch.Tensor:
    """Refine ``flow`` (B, 2, H, W) from ``grey_a`` to ``grey_b`` at one level."""
    lam_theta = settings.lam * settings.theta
    tau_theta = settings.tau / settings.theta
    gx, gy = _centred_gradient(grey_b)
    b_and_gradient = torch.cat((grey_b, gx, gy), dim=1)
    dual = torch.zeros((flow.shape[0], 4, *flow.shape[-2:]), device=flow.device, dtype=flow.dtype)
    for _ in range(settings.warps):
        warped = _warp(b_and_gradient, flow)
        b_w, bx, by = warped[:, 0:1], warped[:, 1:2], warped[:, 2:3]
        slope = torch.cat((bx, by), dim=1)
        grad2 = bx * bx + by * by
        # The image difference linearized around the flow this warp started from.
        rho_start = b_w - (slope * flow).sum(dim=1, keepdim=True) - grey_a
        safe_grad2 = grad2.clamp_min(1e-10)
        u = flow
        for _ in range(settings.iterations):
            rho = rho_start + (slope * u).sum(dim=1, keepdim=True)
            # The data term's proximal step, in its three cases (Zach et al., eq. 13).
            step = torch.where(
                rho < -lam_theta * grad2,
                lam_theta * slope,
                torch.where(rho > lam_theta * grad2, -lam_theta * slope, -rho * slope / safe_grad2),
            )
            step = torch.where(grad2 > 1e-10, step, torch.zeros_like(step))
            v = u + step
            u = v + settings.theta * torch.cat(
                (_divergence(dual[:, 0:1], dual[:, 1:2]), _divergence(dual[:, 2:3], dual[:, 3:4])), dim=1
            )
            ux, uy = _forward_gradient(u)  # each (B, 2, H, W): d/dx and d/dy of both components
            norm = torch.sqrt(ux * ux + uy * uy)
            gradients = torch.stack((ux, uy), dim=2).reshape(dual.shape)  # u1x, u1y, u2x, u2y
            norms = norm.repeat_interleave(2, dim=1)
            dual = (dual + tau_theta * gradients) / (1.0 + tau_theta * norms)
        flow = _median(u, settings.median) if settings.median > 1 else u
    return flow


def tvl1_flows(grey_a: torch.Tensor, grey_b: torch.Tensor, settings: TVL1Settings = TVL1Settings()) -> torch.Tensor:
    """The flows from each of ``grey_a`` to the matching ``grey_b``: (B, 1, H, W) float32 in
    0-255 each; returns (B, 2, H, W)."""
    levels_a, levels_b = _pyramid(grey_a, settings), _pyramid(grey_b, settings)
    coarsest = levels_a[-1]
    flow = torch.zeros((coarsest.shape[0], 2, *coarsest.shape[-2:]), device=grey_a.device, dtype=grey_a.dtype)
    for level, (a, b) in enumerate(zip(reversed(levels_a), reversed(levels_b), strict=True)):
        if level > 0:
            height, width = a.shape[-2:]
            sx, sy = width / flow.shape[-1], height / flow.shape[-2]
            flow = F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=False)
            flow = torch.cat((flow[:, 0:1] * sx, flow[:, 1:2] * sy), dim=1)
        flow = _solve_level(a, b, flow, settings)
    return flow


# Eager runs before a shape's flow is captured as a CUDA graph: cuDNN and the allocator settle.
_GRAPH_WARMUP = 2


class TVL1Flow:
    """``tvl1_flows`` on one device; on CUDA each batch shape's whole computation is captured
    once as a CUDA graph and replayed (some 25,000 kernels a batch of six at 394x480, which
    launched one by one from Python would keep a CPU core and the interpreter busy)."""

    def __init__(self, device: torch.device, settings: TVL1Settings = TVL1Settings()) -> None:
        self.device = device
        self.settings = settings
        self.use_graphs = device.type == "cuda"
        self._graphs: dict[tuple[int, ...], tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self._runs: dict[tuple[int, ...], int] = {}

    def __call__(self, grey_a: torch.Tensor, grey_b: torch.Tensor) -> torch.Tensor:
        """Flows from ``grey_a`` to ``grey_b`` ((B, 1, H, W), 0-255, any device): (B, 2, H, W)
        on this device. With graphs, the result is a buffer the next call of the same shape
        overwrites: copy it before then."""
        grey_a = grey_a.to(self.device, torch.float32, non_blocking=True)
        grey_b = grey_b.to(self.device, torch.float32, non_blocking=True)
        shape = tuple(grey_a.shape)
        captured = self._graphs.get(shape)
        if captured is not None:
            graph, static_a, static_b, static_flow = captured
            static_a.copy_(grey_a)
            static_b.copy_(grey_b)
            graph.replay()
            return static_flow
        runs = self._runs.get(shape, 0)
        if not self.use_graphs or runs < _GRAPH_WARMUP:
            self._runs[shape] = runs + 1
            return tvl1_flows(grey_a, grey_b, self.settings)
        return self._capture(shape, grey_a, grey_b)

    def _capture(self, shape: tuple[int, ...], grey_a: torch.Tensor, grey_b: torch.Tensor) -> torch.Tensor:
        static_a, static_b = grey_a.clone(), grey_b.clone()
        graph = torch.cuda.CUDAGraph()
        try:
            # thread_local: the optimizer's thread runs its own graphs meanwhile (optimize.py).
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                static_flow = tvl1_flows(static_a, static_b, self.settings)
        except RuntimeError as exc:
            log.warning("CUDA graph capture of the flow failed, computing it without graphs: %s", exc)
            self.use_graphs = False
            return tvl1_flows(grey_a, grey_b, self.settings)
        self._graphs[shape] = (graph, static_a, static_b, static_flow)
        graph.replay()
        return static_flow
