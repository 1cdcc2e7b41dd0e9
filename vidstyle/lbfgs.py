"""L-BFGS with a fixed step, written so that the host never waits for the device.

The update is torch.optim.LBFGS's with ``max_iter=1`` and no line search (the Torch code of
Gatys and Ruder runs it so): the same curvature pairs, the same ``s.y > 1e-10`` test, the same
initial Hessian scale and first step. What differs is how the direction is computed:

- torch's two-loop recursion passes 0-dim tensors as ``alpha=`` (two host syncs per stored
  pair, per iteration) and tests ``ys > 1e-10`` in Python (one more), and it launches four
  small kernels per stored pair: about 200 launches an iteration with 50 pairs;
- here the direction comes from the compact representation of the L-BFGS matrix (Byrd,
  Nocedal and Schnabel 1994), which gives the same product H·g from a handful of
  matrix-vector products and two triangular solves of size m. Rejected pairs and an unfilled
  history are masked with tensor arithmetic, not skipped in Python.

So one iteration is a fixed sequence of kernels with no data-dependent control flow: it never
syncs, and it can be captured in a CUDA graph. The m x m algebra runs in float64 (cheap, and
the compact form is less forgiving of rounding than the recursion).
"""

from __future__ import annotations

import torch

# torch.optim.LBFGS keeps a curvature pair only when s.y exceeds this.
CURVATURE_EPS = 1e-10


class LBFGS:
    """Minimizes over one flat tensor ``x`` (n,), updated in place by ``step(x, grad)``.

    ``history_size`` pairs (s, y) are kept in a ring buffer: slot ``head`` is written next.
    ``sy[i, j] = s_i . y_j`` and ``yy[i, j] = y_i . y_j`` are kept up to date one row and one
    column per accepted pair, so no step reads the history more than a few times.
    """

    def __init__(
        self, numel: int, *, history_size: int, lr: float = 1.0, device: torch.device, dtype: torch.dtype
    ) -> None:
        m = history_size
        self.history_size = m
        self.lr = lr
        # MPS has no float64.
        self.small_dtype = torch.float32 if device.type == "mps" else torch.float64
        self.s = torch.zeros(m, numel, device=device, dtype=dtype)
        self.y = torch.zeros(m, numel, device=device, dtype=dtype)
        self.sy = torch.zeros(m, m, device=device, dtype=self.small_dtype)
        self.yy = torch.zeros(m, m, device=device, dtype=self.small_dtype)
        self.used = torch.zeros(m, device=device, dtype=torch.bool)
        self.head = torch.zeros((), device=device, dtype=torch.long)
        self.gamma = torch.ones((), device=device, dtype=self.small_dtype)
        self.steps = torch.zeros((), device=device, dtype=torch.long)
        self.previous_grad = torch.zeros(numel, device=device, dtype=dtype)
        self.previous_step = torch.zeros(numel, device=device, dtype=dtype)
        self._slots = torch.arange(m, device=device)

    def reset(self) -> None:
        """Forget the history: the next step is a first step again."""
        for buffer in (self.s, self.y, self.sy, self.yy, self.used, self.head, self.steps):
            buffer.zero_()
        self.previous_grad.zero_()
        self.previous_step.zero_()
        self.gamma.fill_(1.0)

    @torch.no_grad()
    def step(self, x: torch.Tensor, grad: torch.Tensor) -> None:
        """Move ``x`` (n,) along the L-BFGS direction for ``grad`` (n,), the gradient at ``x``."""
        self._remember(grad)
        direction = -self._inverse_hessian_times(grad)
        # torch.optim.LBFGS: the first step is min(1, 1/|g|_1) * lr, later ones lr.
        first = torch.clamp(1.0 / grad.abs().sum(), max=1.0)
        t = torch.where(self.steps == 0, first, torch.ones_like(first)) * self.lr
        torch.mul(direction, t.to(direction.dtype), out=self.previous_step)
        x.add_(self.previous_step)
        self.previous_grad.copy_(grad)
        self.steps.add_(1)

    def _remember(self, grad: torch.Tensor) -> None:
        """Store the pair of the last step, where its curvature s.y is positive enough.

        Before the first step ``previous_step`` is zero, so s.y = 0 and nothing is stored.
        """
        s = self.previous_step
        y = grad - self.previous_grad
        ys = torch.dot(y, s).to(self.small_dtype)
        accept = ys > CURVATURE_EPS
        head = self.head.view(1)
        # Write the slot only where accepted; elsewhere it keeps what it had.
        old_s = self.s.index_select(0, head)[0]
        old_y = self.y.index_select(0, head)[0]
        self.s.index_copy_(0, head, torch.where(accept, s, old_s)[None])
        self.y.index_copy_(0, head, torch.where(accept, y, old_y)[None])
        # Row and column ``head`` of s.y and y.y against the (updated) history.
        s_dot_y = (self.s @ y).to(self.small_dtype)  # s_i . y_new
        y_dot_s = (self.y @ s).to(self.small_dtype)  # y_i . s_new
        y_dot_y = (self.y @ y).to(self.small_dtype)  # y_i . y_new
        is_head = self._slots == self.head
        row = torch.where(is_head, ys, y_dot_s)  # sy[head, j] = s_new . y_j
        column = torch.where(is_head, ys, s_dot_y)  # sy[i, head] = s_i . y_new
        in_row = accept & is_head[:, None]
        in_column = accept & is_head[None, :]
        self.sy.copy_(torch.where(in_row, row[None, :], torch.where(in_column, column[:, None], self.sy)))
        self.yy.copy_(torch.where(in_row, y_dot_y[None, :], torch.where(in_column, y_dot_y[:, None], self.yy)))
        self.used.logical_or_(accept & is_head)
        yy_new = y_dot_y.index_select(0, head)[0]
        self.gamma.copy_(torch.where(accept, ys / yy_new.clamp_min(1e-300), self.gamma))
        self.head.copy_(torch.where(accept, (self.head + 1) % self.history_size, self.head))

    def _inverse_hessian_times(self, grad: torch.Tensor) -> torch.Tensor:
        """H·grad from the compact form H = γI + [S γY] M [S γY]^T (Byrd et al. 1994).

        With pairs in chronological order, R = triu(S^T Y), D = diag(S^T Y):
        H g = γ g + S p - γ Y u, where R u = S^T g and R^T p = (D + γ Y^T Y) u - γ Y^T g.
        Unused slots hold zeros; a unit diagonal in R makes them inert.
        """
        order = (self.head + self._slots) % self.history_size  # oldest first
        gamma = self.gamma
        a = (self.s @ grad).to(self.small_dtype)[order]
        b = (self.y @ grad).to(self.small_dtype)[order]
        sy = self.sy[order][:, order]
        yy = self.yy[order][:, order]
        used = self.used[order]
        diagonal = torch.diagonal(sy)
        r = torch.triu(sy, diagonal=1) + torch.diag(torch.where(used, diagonal, torch.ones_like(diagonal)))
        u = torch.linalg.solve_triangular(r, a[:, None], upper=True)[:, 0]
        rhs = diagonal * u + gamma * (yy @ u) - gamma * b
        p = torch.linalg.solve_triangular(r.T, rhs[:, None], upper=False)[:, 0]
        # Back to slot order for the products with the stored vectors.
        p_slots = torch.empty_like(p).scatter_(0, order, p).to(grad.dtype)
        u_slots = torch.empty_like(u).scatter_(0, order, u).to(grad.dtype)
        return gamma.to(grad.dtype) * grad + self.s.T @ p_slots - gamma.to(grad.dtype) * (self.y.T @ u_slots)
