"""TV-L1 in torch (vidstyle/tvl1.py): a batch gives each pair's own flow, and the flow follows
real motion. Its accuracy beside the OpenCV flows is in tests/test_flow.py."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from tests.conftest import textured_frame
from vidstyle.flow import FlowEstimator, warp
from vidstyle.tvl1 import TVL1Flow, TVL1Settings, tvl1_flows


def _grey(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32))[None, None]


def test_a_batch_gives_each_pair_its_own_flow() -> None:
    a = textured_frame(64, 48, seed=3)
    shifts = [np.float32([[1, 0, dx], [0, 1, dy]]) for dx, dy in ((1.5, 0.0), (-0.5, 2.0), (0.0, 0.0))]
    moved = [cv2.warpAffine(a, m, (64, 48), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT) for m in shifts]
    alone = [tvl1_flows(_grey(a), _grey(b)) for b in moved]
    batch = tvl1_flows(torch.cat([_grey(a)] * 3), torch.cat([_grey(b) for b in moved]))
    for k, flow in enumerate(alone):
        torch.testing.assert_close(batch[k : k + 1], flow, atol=1e-4, rtol=0)
    # Each follows its own shift (interior: the borders have nothing to match).
    means = batch[:, :, 8:-8, 8:-8].mean(dim=(2, 3))
    expected = torch.tensor([[1.5, 0.0], [-0.5, 2.0], [0.0, 0.0]])
    torch.testing.assert_close(means, expected, atol=0.1, rtol=0)


def test_estimator_pairs_equal_one_by_one() -> None:
    frames = [textured_frame(64, 48, seed=s) for s in (1, 2)]
    estimator = FlowEstimator("tvl1")
    both = estimator.pairs([(frames[0], frames[1]), (frames[1], frames[0])])
    np.testing.assert_allclose(both[0], estimator(frames[0], frames[1]), atol=1e-4)
    np.testing.assert_allclose(both[1], estimator(frames[1], frames[0]), atol=1e-4)
    assert estimator.pairs([]) == []  # a shot's first frame has no neighbours


def test_fewer_iterations_leave_a_worse_flow() -> None:
    # The iterations do the work: with one warp of two iterations the flow is far from the shift.
    a = textured_frame(64, 48, seed=5)
    b = cv2.warpAffine(a, np.float32([[1, 0, 2.6], [0, 1, -1.2]]), (64, 48), flags=cv2.INTER_CUBIC)
    full = tvl1_flows(_grey(a), _grey(b))
    short = tvl1_flows(_grey(a), _grey(b), TVL1Settings(warps=1, iterations=2))

    def error(flow: torch.Tensor) -> float:
        back = warp(b, flow[0].permute(1, 2, 0).numpy())
        return float(np.abs(back - a.astype(np.float32))[8:-8, 8:-8].mean())

    assert error(full) < 0.5 * error(short), (error(full), error(short))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_on_cuda_the_graph_gives_the_cpu_flow() -> None:
    # Replayed CUDA graphs (after the eager warm-up runs) give the flow the CPU computes.
    a = textured_frame(96, 72, seed=7)
    b = cv2.warpAffine(a, cv2.getRotationMatrix2D((48, 36), 2.0, 1.0), (96, 72), flags=cv2.INTER_CUBIC)
    on_cpu = tvl1_flows(_grey(a), _grey(b))
    flow = TVL1Flow(torch.device("cuda"))
    results = [flow(_grey(a), _grey(b)).cpu() for _ in range(4)]  # two eager, a capture, a replay
    assert flow.use_graphs and len(flow._graphs) == 1
    for result in results:
        torch.testing.assert_close(result, on_cpu, atol=0.02, rtol=0)
