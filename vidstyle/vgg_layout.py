"""VGG19's layout: its layers' names and the weights it can load, without torch (the command
line reads them to check options before any work starts)."""

from __future__ import annotations

from typing import Literal

WeightsName = Literal["caffe", "torchvision"]

# Convolutions per block in VGG19 (configuration "E" of Simonyan & Zisserman).
BLOCK_DEPTHS = (2, 2, 4, 4, 4)
BLOCK_WIDTHS = (64, 128, 256, 512, 512)


def layer_plan() -> list[tuple[str, int, int]]:
    """(relu name, in channels, out channels) for each conv, with a pool marker as ("pool", 0, 0)."""
    plan: list[tuple[str, int, int]] = []
    in_channels = 3
    for block, (depth, width) in enumerate(zip(BLOCK_DEPTHS, BLOCK_WIDTHS, strict=True), start=1):
        for conv in range(1, depth + 1):
            plan.append((f"relu{block}_{conv}", in_channels, width))
            in_channels = width
        plan.append(("pool", 0, 0))
    return plan


LAYER_NAMES: tuple[str, ...] = tuple(name for name, _, _ in layer_plan() if name != "pool")
