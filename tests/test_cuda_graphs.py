"""CUDA graph capture by construction, on the CPU: torch.cuda replaced by fakes that fail
where the real thing would (two captures at once, a failed capture leaving its stream
current). tests/test_cuda.py captures on a real card."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import torch

from vidstyle import cuda_graphs
from vidstyle.cuda_graphs import GraphedStep

DEVICE = torch.device("cuda")


class FakeStream:
    def __init__(self, name: str = "side") -> None:
        self.name = name

    def wait_stream(self, other: FakeStream) -> None:
        pass


class FakeCuda:
    """Streams current per thread; captures counted, overlapping ones refused as torch's are."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.capturing = 0
        self.most_at_once = 0
        self.fail_capture_end = False
        self.lock = threading.Lock()
        self.reset_graphs = 0

    def current_stream(self, device: Any = None) -> FakeStream:
        if not hasattr(self.local, "stream"):
            self.local.stream = FakeStream("default")
        return self.local.stream

    def set_stream(self, stream: FakeStream) -> None:
        self.local.stream = stream

    @contextlib.contextmanager
    def stream(self, stream: FakeStream) -> Iterator[None]:
        before = self.current_stream()
        self.local.stream = stream
        try:
            yield
        finally:
            self.local.stream = before

    def graph_class(self) -> type:
        fake = self

        class Graph:
            def __init__(self) -> None:
                self.replays = 0

            def replay(self) -> None:
                self.replays += 1

            def reset(self) -> None:
                fake.reset_graphs += 1

        return Graph

    def graph_context(self) -> type:
        fake = self

        class Capture:
            def __init__(self, graph: Any, stream: FakeStream | None = None, **options: Any) -> None:
                self.stream = stream or FakeStream("torch's shared capture stream")

            def __enter__(self) -> None:
                with fake.lock:
                    if fake.capturing:
                        raise RuntimeError("another capture is underway in this process")
                    fake.capturing += 1
                    fake.most_at_once = max(fake.most_at_once, fake.capturing)
                fake.local.stream = self.stream  # torch enters the stream before capture_begin

            def __exit__(self, *args: object) -> None:
                with fake.lock:
                    fake.capturing -= 1
                if fake.fail_capture_end:
                    # capture_end raised: torch skips restoring the stream
                    raise RuntimeError("operation not permitted when stream is capturing")
                fake.local.stream = FakeStream("default")

        return Capture


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> FakeCuda:
    fake = FakeCuda()
    monkeypatch.setattr(torch.cuda, "Stream", lambda device=None: FakeStream())
    monkeypatch.setattr(torch.cuda, "current_stream", fake.current_stream)
    monkeypatch.setattr(torch.cuda, "set_stream", fake.set_stream)
    monkeypatch.setattr(torch.cuda, "stream", fake.stream)
    monkeypatch.setattr(torch.cuda, "CUDAGraph", fake.graph_class())
    monkeypatch.setattr(torch.cuda, "graph", fake.graph_context())
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    return fake


def test_steps_in_threads_capture_one_at_a_time(fake_cuda: FakeCuda) -> None:
    # Work units start in step: their captures coincide. Each capture takes a while (the
    # device sync on entry, the recording), so without a lock they would overlap here.
    start = threading.Barrier(3)
    steps: list[GraphedStep] = []

    def slow_step() -> None:
        time.sleep(0.05)

    def paint() -> None:
        step = GraphedStep(slow_step, DEVICE, warmup=1)
        steps.append(step)
        start.wait()
        for _ in range(3):
            step()

    threads = [threading.Thread(target=paint) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake_cuda.most_at_once == 1
    assert all(step.graph is not None and not step.failed for step in steps)
    assert all(step.graph.replays == 2 for step in steps if step.graph is not None)  # captured, then replayed


def test_warm_up_and_capture_run_on_the_steps_own_stream(fake_cuda: FakeCuda) -> None:
    seen: list[str] = []
    step = GraphedStep(lambda: seen.append(torch.cuda.current_stream().name), DEVICE, warmup=2)
    step.stream.name = "the step's own"
    for _ in range(4):
        step()
    assert seen == ["the step's own"] * 3  # two warm-ups and the capture; then replays
    assert torch.cuda.current_stream().name == "default"


def test_a_failed_capture_puts_the_stream_back_and_leaves_other_shapes_graphed(fake_cuda: FakeCuda) -> None:
    calls = {"failing": 0, "other": 0}
    failing = GraphedStep(lambda: calls.__setitem__("failing", calls["failing"] + 1), DEVICE, warmup=1)
    fake_cuda.fail_capture_end = True
    failing()
    failing()  # the capture fails: the step runs eagerly instead
    assert failing.failed and failing.graph is None
    assert torch.cuda.current_stream().name == "default"
    assert fake_cuda.reset_graphs == 1  # the failed graph's memory released
    failing()
    assert calls["failing"] == 4  # warm-up, the recording, the eager run, and eagerly again
    fake_cuda.fail_capture_end = False
    other = GraphedStep(lambda: calls.__setitem__("other", calls["other"] + 1), DEVICE, warmup=1)
    for _ in range(3):
        other()
    assert other.graph is not None
    # and the lock was released by the failed capture
    assert not cuda_graphs._CAPTURE_LOCK.locked()
