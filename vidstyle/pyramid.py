"""Coarse to fine: the sizes a shot's first frame is optimized at, and the iterations each gets.

A first frame starts far from any optimum; optimized at 1/2, 1/4 ... of its size first, each
result enlarged to start the next level, it needs fewer iterations at the full size. Pure
functions of the size, the levels and the budget, so that the estimate counts what the
render does.
"""

from __future__ import annotations

# Below this short side, VGG19's four poolings leave too little of a picture for relu5_1.
MIN_PYRAMID_SIDE = 64


def pyramid(height: int, width: int, scales: int) -> list[tuple[int, int]]:
    """The levels' (height, width), smallest first: up to ``scales`` sizes, each half the next,
    none with a side under ``MIN_PYRAMID_SIDE``."""
    levels = [(height, width)]
    for _ in range(scales - 1):
        level_h, level_w = levels[-1][0] // 2, levels[-1][1] // 2
        if min(level_h, level_w) < MIN_PYRAMID_SIDE:
            break
        levels.append((level_h, level_w))
    return levels[::-1]


def level_budgets(height: int, width: int, iterations: int, scales: int) -> list[tuple[tuple[int, int], int]]:
    """A coarse-to-fine frame's levels ((height, width), smallest first) and the iterations
    each gets: ``iterations`` at each smaller size, and half of it at the full size, which
    refines what the coarse levels found."""
    levels = pyramid(height, width, scales)
    if len(levels) == 1:
        return [(levels[0], iterations)]
    return [(level, iterations) for level in levels[:-1]] + [(levels[-1], max(1, iterations // 2))]


def budget_text(height: int, width: int, iterations: int, scales: int) -> str:
    """What a first frame's progress counts, where coarse-to-fine makes it more than
    ``iterations``: ``300 iterations: 200 at 192x108, then 100 at 384x216``; else ""."""
    plan = level_budgets(height, width, iterations, scales)
    if len(plan) == 1:
        return ""
    parts = [f"{budget} at {w}x{h}" for (h, w), budget in plan]
    return f"{sum(budget for _, budget in plan)} iterations: {', then '.join(parts)}"
