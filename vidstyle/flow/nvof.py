"""Flow by an NVIDIA card's optical-flow engine (Turing and later), through the
torch-nvidia-of-sdk package (``of``; no weights: the engine is in the card).

The engine's forward flow maps each pixel of the input frame to where it is in the
reference frame (NVIDIA Optical Flow SDK), which is this package's convention with the
input frame first. A session is made once per frame size and process and shared by every
flow worker, one call at a time: the engine is one piece of hardware, and a session per
worker would hold as many for nothing. Its calls run on a CUDA stream of their own, so that
they do not queue behind the network's kernels on the default stream.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import numpy as np

_SESSIONS: dict[tuple[int, ...], Any] = {}
_LOCK = threading.Lock()  # the sessions, and the engine, one call at a time
_STREAM: Any = None
# Where the frames go for the engine; tests/test_flow.py runs a fake engine on the CPU.
DEVICE = "cuda"


def missing() -> str | None:
    """Why the engine cannot be used here, or None when it can."""
    import torch  # only here: the other flows are numpy and OpenCV

    if not torch.cuda.is_available():
        return "no CUDA card"
    try:
        import of  # type: ignore[import-not-found]  # noqa: F401  # torch-nvidia-of-sdk
    except ImportError:
        return "the torch-nvidia-of-sdk package is not installed (pip install torch-nvidia-of-sdk)"
    return None


class NvidiaFlow:
    def __call__(self, frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        import of  # type: ignore[import-not-found]
        import torch

        with _LOCK, _own_stream():
            a, b = (torch.from_numpy(np.ascontiguousarray(f)).to(DEVICE) for f in (frame_a, frame_b))
            session = _SESSIONS.get(frame_a.shape)
            if session is None:
                session = _SESSIONS[frame_a.shape] = of.TorchNVOpticalFlow.from_tensor(a, preset="slow", grid_size=1)
            # input a, reference b: a's pixels to where they are in b. The copy to the host
            # waits for this stream alone.
            flow = session.compute_flow(a, b, upsample=True).cpu()
        return np.asarray(flow.numpy(), dtype=np.float32)


def _own_stream() -> contextlib.AbstractContextManager[Any]:
    global _STREAM
    import torch

    if DEVICE != "cuda":
        return contextlib.nullcontext()
    if _STREAM is None:
        _STREAM = torch.cuda.Stream()
    return torch.cuda.stream(_STREAM)
