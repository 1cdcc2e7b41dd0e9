"""Frame sizes: scaling to a long side, as the settings and the image operations do."""

from __future__ import annotations


def fit_long_side(width: int, height: int, long_side: int | None, *, even: bool = False) -> tuple[int, int]:
    """(width, height) scaled so that the longer side is ``long_side`` (never below 1 px).

    ``None`` keeps the size. ``even`` rounds both sides to even numbers, which 4:2:0 video needs.
    """
    if long_side is None:
        new_w, new_h = width, height
    else:
        scale = long_side / max(width, height)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    if even:
        new_w, new_h = max(2, new_w + new_w % 2), max(2, new_h + new_h % 2)
    return new_w, new_h
