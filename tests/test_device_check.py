"""The device check runs end to end on the CPU (--dry), so that a lent GPU's few minutes are
not lost to a typo in a script that only a GPU would otherwise run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_device_check_runs_dry_on_the_cpu() -> None:
    env = {**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        ["bash", "benchmarks/device_check.sh", "--dry"], cwd=REPO, env=env, capture_output=True, text=True, timeout=900
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    # Each part printed its figures: the step table, the render table, the memory table.
    assert "dry run: no GPU asked for" in out
    assert "render: first 3 frames of pens.mp4 at 64 px" in out and "later frames/s" in out
    assert "defaults 80 px" in out and "units at once" in out and "flows a frame" in out
    assert "detail: 3 frames painted at 64x36, delivered at 128x72" in out  # the detail pass's row
    assert "NVOF: engine " in out  # the probe says what it found, even without a card
    assert "renders at once in threads" in out and "the driving thread in a render of 3 frames" in out
    assert "predicted/peak" in out
    assert "Traceback" not in out + result.stderr
