"""Where and how a render runs, decided once: the device, the network's precision, its CPU
threads, the flow workers beside it, CUDA graphs, where warps run, and how many work units
paint at once. Everything below takes these decisions as given.

The decisions read a ``Machine``, the facts about this one that they depend on, so that
tests can ask what a GPU machine would get on a CPU (tests/test_backend.py).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from vidstyle import device as devices
from vidstyle.settings import EngineSettings

# Work units painted at once on a GPU when --units is not given, at most. One unit at a time
# left an H200 21% busy at 480 px (a step 5-6 ms at 256, 480 and 720 px alike: launches and
# the host, not arithmetic); two renders side by side filled each other's gaps (54% busy,
# device_check log 2026-11-28). Four is a first guess beyond that, to be set from the device
# check's "units at once" rows on a GPU.
MAX_UNITS_ON_A_GPU = 4
# The share of a card's free memory that the units' frames may take.
UNITS_MEMORY_SHARE = 0.5


# _FLOWS_BESIDE: where the flows run. On a CPU, between frames with every core (a flow worker
# beside the network slows the network more than it saves); on a GPU, in workers on the
# cores the GPU's driver thread leaves, one OpenCV thread each. The measurements:
# docs/experiments.md, "Where the flows run".


@dataclass(frozen=True)
class Machine:
    """What the decisions need to know of the machine beyond the device: the free memory of
    its card (None: not asked, or no card), and the CPU cores this process may use."""

    cuda_free_bytes: int | None
    cores: int

    @classmethod
    def probe(cls, device: torch.device) -> Machine:
        """This machine, as a render on ``device`` needs it: the card's free memory is asked
        for only when the render is on it (asking starts CUDA, which a CPU render need not)."""
        free = devices.available_memory(device) if device.type == "cuda" else None
        return cls(cuda_free_bytes=free, cores=devices.network_threads(None))


@dataclass(frozen=True)
class Backend:
    """Where and how a render runs (``choose_backend``)."""

    device: torch.device
    dtype: torch.dtype | None  # the network's; None is plain fp32
    threads: int  # the network's CPU threads (and OpenCV's between frames, on a CPU)
    flow_workers: int  # threads computing flows ahead; 0: between frames, in the render's thread
    units_at_once: int
    cuda_graphs: bool
    device_warps: bool  # warps, masks and hole filling on the device, not with OpenCV

    @property
    def engine_text(self) -> str:
        """``cpu, float32``: as the log and the work folder say it."""
        return f"{self.device.type}, {str(self.dtype or torch.float32).removeprefix('torch.')}"

    def running(self) -> contextlib.AbstractContextManager[None]:
        """The threads set for a render, and the caller's back after it: on a CPU OpenCV's
        flows get every core between frames; beside a GPU each flow worker one."""
        return devices.render_threads(self.threads, self.threads if self.flow_workers == 0 else 1)


def choose_backend(
    engine: EngineSettings,
    *,
    frame_size: tuple[int, int] | None = None,
    units: int | None = None,
    machine: Machine | None = None,
) -> Backend:
    """The backend for ``engine`` on ``machine`` (this one by default), painting frames of
    ``frame_size``; ``units`` overrides the units at once (one for an image, or a cluster's
    task), else ``engine.units`` (--units) or the machine's choice."""
    device = devices.resolve_device(engine.device)
    machine = machine or Machine.probe(device)
    dtype = devices.network_dtype(device, engine.precision)
    threads = engine.threads or machine.cores
    on_gpu = device.type == "cuda"
    at_once = units or engine.units or _units_at_once(device, engine, frame_size, machine)
    if not on_gpu:
        # Each unit's network runs on ``threads`` threads: together at most the cores, or they
        # would take turns on them. Threads are not divided between units instead: their number
        # shapes the sums, and --units would then change the frames.
        at_once = min(at_once, max(1, machine.cores // threads))
    return Backend(
        device=device,
        dtype=dtype,
        threads=threads,
        flow_workers=max(1, threads - 1) if on_gpu else 0,  # _FLOWS_BESIDE says why
        units_at_once=at_once,
        cuda_graphs=on_gpu,
        device_warps=on_gpu,
    )


def _units_at_once(
    device: torch.device, engine: EngineSettings, frame_size: tuple[int, int] | None, machine: Machine
) -> int:
    """One on a CPU, whose cores one unit's network already keeps busy. On a GPU as many as
    fit in half its free memory, at most ``MAX_UNITS_ON_A_GPU``."""
    if device.type != "cuda":
        return 1
    if frame_size is None or machine.cuda_free_bytes is None:
        return MAX_UNITS_ON_A_GPU
    per_unit = devices.frame_bytes(device, engine.precision, *frame_size)
    return max(1, min(MAX_UNITS_ON_A_GPU, int(machine.cuda_free_bytes * UNITS_MEMORY_SHARE // per_unit)))
