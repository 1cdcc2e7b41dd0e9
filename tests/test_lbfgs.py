"""The sync-free L-BFGS takes the same iterates as torch.optim.LBFGS (fixed step, max_iter=1)."""

from __future__ import annotations

import pytest
import torch

from vidstyle.lbfgs import LBFGS

N = 40


def _problem(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(N, N, generator=generator, dtype=torch.float64)
    start = torch.randn(N, generator=generator, dtype=torch.float64)
    return a @ a.T / N + 0.1 * torch.eye(N, dtype=torch.float64), start


def _convex(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """A quadratic bowl with a quartic wall: smooth, convex, not quadratic."""
    return 0.5 * x @ (q.to(x.dtype) @ x) + 0.05 * (x**4).sum() - x.sum()


def _double_wells(x: torch.Tensor, q: torch.Tensor, depth: float, coupling: float) -> torch.Tensor:
    """Not convex: between the wells the curvature is negative, and L-BFGS must skip those pairs."""
    return depth * ((x**2 - 1) ** 2).sum() + coupling * x @ (q.to(x.dtype) @ x)


def _torch_iterates(f, x0: torch.Tensor, history: int, steps: int) -> list[torch.Tensor]:
    x = x0.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [x], lr=1.0, max_iter=1, history_size=history, tolerance_grad=-1.0, tolerance_change=-1.0
    )
    iterates = []
    for _ in range(steps):

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = f(x)
            loss.backward()
            return loss

        optimizer.step(closure)  # type: ignore[no-untyped-call]
        iterates.append(x.detach().clone())
    return iterates


def _our_iterates(f, x0: torch.Tensor, history: int, steps: int) -> tuple[list[torch.Tensor], LBFGS]:
    x = x0.clone()
    optimizer = LBFGS(N, history_size=history, device=x.device, dtype=x.dtype)
    iterates = []
    for _ in range(steps):
        probe = x.clone().requires_grad_(True)
        f(probe).backward()
        optimizer.step(x, probe.grad)
        iterates.append(x.clone())
    return iterates, optimizer


@pytest.mark.parametrize("history", [3, 5, 50])
def test_same_iterates_as_torch_in_float64(history: int) -> None:
    q, x0 = _problem(1)
    ours, _ = _our_iterates(lambda x: _convex(x, q), x0, history, 30)
    theirs = _torch_iterates(lambda x: _convex(x, q), x0, history, 30)
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=f"step {step + 1}")
    # The history wrapped around (30 pairs > 3 or 5 slots) and the problem was solved.
    assert _convex(ours[-1], q) < _convex(x0, q) - 10


def test_a_history_as_long_as_the_steps_takes_the_same_iterates_as_a_longer_one() -> None:
    # What _FrameRun relies on to keep only as many slots as a frame can fill.
    q, x0 = _problem(7)
    f = lambda x: _convex(x, q)  # noqa: E731
    steps = 15
    short, optimizer = _our_iterates(f, x0, steps - 1, steps)
    long, _ = _our_iterates(f, x0, 50, steps)
    assert bool(optimizer.used.all())  # every slot of the short history filled, none overwritten
    for a, b in zip(short, long, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("history", [3, 10])
def test_same_iterates_in_float32_to_float_tolerance(history: int) -> None:
    q, x0 = _problem(2)
    f = lambda x: _convex(x, q)  # noqa: E731
    ours, _ = _our_iterates(f, x0.float(), history, 30)
    theirs = _torch_iterates(f, x0.float(), history, 30)
    exact = _torch_iterates(f, x0, history, 30)
    for a, b, c in zip(ours, theirs, exact, strict=True):
        # No further from torch's float32 iterates than those are from float64's, give or take.
        rounding = (b.double() - c).abs().max().item()
        assert (a - b).abs().max().item() <= 4 * rounding + 1e-6


@pytest.mark.parametrize(("seed", "depth", "coupling"), [(6, 0.1, 0.02), (5, 0.5, 0.05)])
def test_pairs_with_too_little_curvature_are_skipped_as_torch_does(seed: int, depth: float, coupling: float) -> None:
    q, x0 = _problem(seed)
    f = lambda x: _double_wells(x, q, depth, coupling)  # noqa: E731
    steps = 20
    ours, optimizer = _our_iterates(f, 0.3 * x0, 50, steps)
    theirs = _torch_iterates(f, 0.3 * x0, 50, steps)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    # Some pairs were rejected: fewer stored than steps taken after the first.
    assert int(optimizer.used.sum()) < steps - 1


def test_reset_forgets_the_history() -> None:
    q, x0 = _problem(4)
    f = lambda x: _convex(x, q)  # noqa: E731
    fresh, _ = _our_iterates(f, x0, 5, 3)
    x = x0.clone() + 1.0
    optimizer = LBFGS(N, history_size=5, device=x.device, dtype=x.dtype)
    for _ in range(4):
        probe = x.clone().requires_grad_(True)
        f(probe).backward()
        optimizer.step(x, probe.grad)
    optimizer.reset()
    x = x0.clone()
    for expected in fresh:
        probe = x.clone().requires_grad_(True)
        f(probe).backward()
        optimizer.step(x, probe.grad)
        torch.testing.assert_close(x, expected, rtol=1e-12, atol=1e-12)
