"""Where and how a render runs, decided in one place: a CPU's decisions here, a GPU's on made-up
capabilities (no card needed to test what one would get)."""

from __future__ import annotations

import cv2
import pytest
import torch

from vidstyle import backend as backends
from vidstyle import device as devices
from vidstyle.backend import MAX_UNITS_ON_A_GPU, Backend, Machine, choose_backend
from vidstyle.config import build_job
from vidstyle.errors import UsageError
from vidstyle.settings import EngineSettings

GIB = 2**30


def test_a_cpu_paints_one_unit_with_every_core_and_the_flows_between_frames() -> None:
    chosen = choose_backend(EngineSettings(device="cpu"), frame_size=(480, 270), machine=Machine(None, 6))
    assert chosen.device == torch.device("cpu")
    assert (chosen.threads, chosen.flow_workers, chosen.units_at_once) == (6, 0, 1)
    assert not chosen.cuda_graphs and not chosen.device_warps
    assert chosen.dtype == (torch.bfloat16 if devices.cpu_has_native_bf16() else None)
    assert chosen.engine_text == f"cpu, {'bfloat16' if chosen.dtype else 'float32'}"
    assert choose_backend(EngineSettings(device="cpu", threads=1), machine=Machine(None, 6)).threads == 1


@pytest.mark.parametrize(
    ("cores", "threads", "units", "at_once"), [(2, None, 2, 1), (2, 1, 2, 2), (6, 2, 4, 3), (6, 4, 2, 1)]
)
def test_units_on_a_cpu_never_ask_for_more_threads_than_cores(
    cores: int, threads: int | None, units: int, at_once: int
) -> None:
    # Each unit keeps its threads (their number shapes the sums: --units must not change the
    # frames); fewer units run at once instead.
    engine = EngineSettings(device="cpu", threads=threads, units=units)
    chosen = choose_backend(engine, machine=Machine(None, cores))
    assert chosen.threads == (threads or cores)
    assert chosen.units_at_once == at_once
    assert chosen.units_at_once * chosen.threads <= cores


@pytest.fixture
def a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """An Ampere-or-later card, as far as the decisions ask."""
    monkeypatch.setattr(backends.devices, "resolve_device", lambda name: torch.device("cuda"))
    monkeypatch.setattr(devices, "cuda_capability", lambda device: (9, 0))


def test_a_gpu_gets_fp16_graphs_device_warps_and_the_other_cores_for_flows(a_gpu: None) -> None:
    machine = Machine(cuda_free_bytes=139 * GIB, cores=16)
    chosen = choose_backend(EngineSettings(), frame_size=(480, 270), machine=machine)
    assert chosen.device == torch.device("cuda") and chosen.dtype == torch.float16
    assert chosen.cuda_graphs and chosen.device_warps
    assert (chosen.threads, chosen.flow_workers) == (16, 15)
    assert chosen.units_at_once == MAX_UNITS_ON_A_GPU
    assert choose_backend(EngineSettings(units=2), frame_size=(480, 270), machine=machine).units_at_once == 2


@pytest.mark.parametrize(
    ("free_gib", "size", "units"), [(139, (1920, 1080), 2), (8, (1920, 1080), 1), (8, (480, 270), 2)]
)
def test_units_on_a_gpu_fit_in_half_its_free_memory(
    a_gpu: None, free_gib: int, size: tuple[int, int], units: int
) -> None:
    # 14 KB a pixel on CUDA (device.BYTES_PER_PIXEL): 1080p 29 GB a unit, 480x270 1.8 GB.
    machine = Machine(cuda_free_bytes=free_gib * GIB, cores=16)
    assert choose_backend(EngineSettings(), frame_size=size, machine=machine).units_at_once == units


def test_units_is_checked() -> None:
    with pytest.raises(UsageError, match="--units must be between 1 and 16"):
        build_job(["style.jpg"], units=0)
    assert build_job(["style.jpg"], units=3).engine.units == 3


@pytest.mark.parametrize(("kind", "workers", "cv2_threads"), [("cpu", 0, 3), ("cuda", 2, 1)])
def test_threads_for_a_render_and_back(kind: str, workers: int, cv2_threads: int) -> None:
    # On a CPU the flows run between frames on every core (no worker beside the network); on
    # a GPU one single-threaded worker per core but one. The caller's settings come back.
    chosen = Backend(torch.device(kind), None, 3, workers, 1, kind == "cuda", kind == "cuda")
    before = (torch.get_num_threads(), cv2.getNumThreads())
    with chosen.running():
        assert (torch.get_num_threads(), cv2.getNumThreads()) == (3, cv2_threads)
    assert (torch.get_num_threads(), cv2.getNumThreads()) == before
