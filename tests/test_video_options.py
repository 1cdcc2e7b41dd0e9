"""Options of a video render, end to end: --preserve-colors, --temporal-init and --init."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.clips import make_clip, moving_texture, real_frames, saved_frames
from tests.conftest import SAMPLES
from vidstyle.errors import NotMediaError
from vidstyle.pipeline import stylize_video


def _chroma(frame: np.ndarray) -> np.ndarray:
    """Cb and Cr (BT.601, full range) of an RGB frame."""
    rgb = frame.astype(np.float32)
    cb = -0.168736 * rgb[..., 0] - 0.331264 * rgb[..., 1] + 0.5 * rgb[..., 2]
    cr = 0.5 * rgb[..., 0] - 0.418688 * rgb[..., 1] - 0.081312 * rgb[..., 2]
    return np.stack([cb, cr], axis=-1)


@pytest.mark.slow
def test_preserve_colors_keeps_the_clips_colours_in_every_frame(tmp_path: Path, starry_night: Path) -> None:
    sources = real_frames(SAMPLES / "pens.mp4", 0, 4, 64, 36)
    clip = make_clip(tmp_path / "pens.mp4", frames=4, width=64, height=36, make_frame=lambda i: sources[i], audio=None)
    budget = {"size": 64, "iterations": 40, "frame_iterations": 20, "scales": 1, "tolerance": 0.0}
    distance = {}
    for name, preserve in (("painted", False), ("preserved", True)):
        output = tmp_path / f"{name}.mp4"
        stylize_video(clip, starry_night, output, keep_frames=True, preserve_colors=preserve, **budget)
        frames = saved_frames(output, 4)
        distance[name] = [float(np.abs(_chroma(f) - _chroma(s)).mean()) for f, s in zip(frames, sources, strict=True)]
    # Without it the painting's palette takes over (the red pen turns blue); with it every
    # frame keeps the clip's chroma within a few levels.
    assert max(distance["preserved"]) < 4.0, distance
    assert min(distance["painted"]) > 3 * max(distance["preserved"]), distance


def test_temporal_init_sets_where_a_later_frame_starts(tmp_path: Path, starry_night: Path) -> None:
    clip = make_clip(tmp_path / "pan.mp4", frames=2, make_frame=moving_texture(64, 48), audio=None)
    content = [f.astype(np.float32) for f in real_frames(clip, 0, 2, 64, 48)]
    # One iteration for the later frame, no temporal pull: its output is little more than its start.
    budget = {"size": 64, "iterations": 20, "frame_iterations": 1, "scales": 1, "tolerance": 0.0}
    later = {}
    first = None
    for mode in ("prev-warped", "prev", "content", "random"):
        output = tmp_path / f"{mode}.mp4"
        stylize_video(clip, starry_night, output, keep_frames=True, temporal_init=mode, temporal_weight=0.0, **budget)
        frames = [f.astype(np.float32) for f in saved_frames(output, 2)]
        first = frames[0] if first is None else first
        assert np.array_equal(frames[0], first), "the first frame does not depend on --temporal-init"
        later[mode] = frames[1]

    def distance(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a - b).mean())

    # prev: the frame before as it is; content: the frame's own picture; random: noise, far from both.
    assert distance(later["prev"], first) < distance(later["prev-warped"], first)
    assert distance(later["content"], content[1]) < min(distance(later[m], content[1]) for m in ("prev", "random"))
    assert distance(later["random"], first) > 2 * distance(later["prev"], first)
    assert distance(later["random"], content[1]) > 2 * distance(later["content"], content[1])
    assert len({later[m].tobytes() for m in later}) == 4


def test_an_init_file_that_is_not_an_image_is_refused_before_the_shots_are_planned(
    tmp_path: Path, starry_night: Path, pens_clip: Path
) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=4, audio=None)
    planned: list[int] = []
    with pytest.raises(NotMediaError) as refused:
        output = tmp_path / "out.mp4"
        stylize_video(clip, starry_night, output, init=pens_clip, on_plan=lambda done, _: planned.append(done))
    assert str(refused.value) == f"--init {pens_clip}: not an image that can be decoded"
    assert planned == [] and not (tmp_path / "out.mp4.vidstyle-work").exists()
