"""Optical flow accuracy, warping, Ruder et al.'s reliability mask, cut detection."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.conftest import textured_frame
from vidstyle.flow import FlowEstimator
from vidstyle.flow.motion import FrameMotion, chained_motion, long_term_masks, measure_link, measure_motion, reliability
from vidstyle.frame_plan import FramePlanner
from vidstyle.imageops import read_image, resize_frame
from vidstyle.prefetch import MotionPrefetcher
from vidstyle.settings import TemporalSettings
from vidstyle.shots import Shot, histogram_distance, is_scene_cut
from vidstyle.video_io import Segment, read_frames
from vidstyle.warps import warp, warp_with_fill

H, W = 96, 128
MARGIN = 12
DOCS = Path(__file__).resolve().parent.parent / "docs"


def _affine_pair(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A textured frame, the frame moved by ``matrix``, and the true flow between them."""
    a = textured_frame(W, H, seed=1)
    b = cv2.warpAffine(a, matrix, (W, H), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    grid_x, grid_y = np.meshgrid(np.arange(W, dtype=np.float64), np.arange(H, dtype=np.float64))
    true_x = matrix[0, 0] * grid_x + matrix[0, 1] * grid_y + matrix[0, 2] - grid_x
    true_y = matrix[1, 0] * grid_x + matrix[1, 1] * grid_y + matrix[1, 2] - grid_y
    return a, b, np.dstack([true_x, true_y])


def _interior_epe(flow: np.ndarray, truth: np.ndarray) -> float:
    error = np.sqrt(((flow - truth) ** 2).sum(axis=2))
    return float(error[MARGIN:-MARGIN, MARGIN:-MARGIN].mean())


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_subpixel_translation(method: str) -> None:
    a, b, truth = _affine_pair(np.float32([[1, 0, 2.3], [0, 1, -1.6]]))
    assert _interior_epe(FlowEstimator(method)(a, b), truth) < 0.5


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_rotation(method: str) -> None:
    matrix = cv2.getRotationMatrix2D((W / 2, H / 2), 3.0, 1.0)
    a, b, truth = _affine_pair(matrix)
    assert np.abs(truth).max() > 2.0  # a real rotation, several pixels at the corners
    assert _interior_epe(FlowEstimator(method)(a, b), truth) < 0.5


def test_warp_brings_the_next_frame_back() -> None:
    a, b, _ = _affine_pair(np.float32([[1, 0, 3.5], [0, 1, 1.25]]))
    flow = FlowEstimator()(a, b)
    restored = warp(b, flow)
    error = np.abs(restored - a.astype(np.float32))[MARGIN:-MARGIN, MARGIN:-MARGIN].mean()
    assert error < 3.0
    assert restored.dtype == np.float32 and restored.shape == a.shape


def test_warp_border_repeats_edge_pixels() -> None:
    frame = np.zeros((4, 4, 3), np.uint8)
    frame[:, 0] = 200
    flow = np.zeros((4, 4, 2), np.float32)
    flow[..., 0] = -2.0  # every pixel samples 2 px to its left
    warped = warp(frame, flow)
    assert (warped[:, :2] == 200).all()  # left of the image: the edge column, not black


def test_warp_with_fill_keeps_brush_strokes_sharp() -> None:
    # A stylized frame moved by half a pixel: bilinear sampling halves its fine detail
    # (measured: 45% of the Laplacian energy left), which the temporal loss would then pin.
    stylized = resize_frame(read_image(DOCS / "great_wave.starry_night.jpg"), 160, 120)
    flow = np.full((120, 160, 2), 0.5, np.float32)
    no_holes = np.zeros((120, 160), bool)

    def detail(image: np.ndarray) -> float:
        laplacian = cv2.Laplacian(np.asarray(image, np.float32), cv2.CV_32F)
        return float(np.abs(laplacian)[MARGIN:-MARGIN, MARGIN:-MARGIN].mean())

    kept = detail(warp_with_fill(stylized, flow, stylized, no_holes)) / detail(stylized)
    kept_bilinear = detail(warp(stylized, flow)) / detail(stylized)
    assert kept > 0.75 and kept_bilinear < 0.55


SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _square_scene(size: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A textured square moving ``step`` px right over a painting: frames, true disocclusion, edge band."""
    height, width = 120, 160
    background = resize_frame(read_image(SAMPLES / "starry_night.jpg"), width, height)
    wave = resize_frame(read_image(SAMPLES / "great_wave.jpg"), 333, 225)
    square = wave[100 : 100 + size, 20 : 20 + size]
    top, left = 36, 50

    def frame(x: int) -> np.ndarray:
        out = background.copy()
        out[top : top + size, x : x + size] = square
        return out

    previous, current = frame(left), frame(left + step)
    truth = np.zeros((height, width), bool)
    truth[top : top + size, left : left + step] = True  # under the square before, visible now
    square_now = np.zeros((height, width), np.uint8)
    square_now[top : top + size, left + step : left + step + size] = 1
    band = cv2.morphologyEx(square_now, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(bool)
    return previous, current, truth, band


@pytest.mark.parametrize(("size", "step"), [(40, 4), (40, 8), (48, 6), (32, 12)])
def test_mask_finds_the_disoccluded_region(size: int, step: int) -> None:
    previous, current, truth, band = _square_scene(size, step)
    estimate = FlowEstimator()
    verdict = reliability(estimate(current, previous), estimate(previous, current))
    # Judged off a 1 px band around the square's edge, where any flow is a blend of two motions
    # (those pixels are unreliable anyway: they are the motion boundary).
    care = ~band
    predicted = verdict.holes & care
    expected = truth & care
    hits = (predicted & expected).sum()
    precision, recall = hits / predicted.sum(), hits / expected.sum()
    assert precision > 0.8 and recall > 0.8, (precision, recall)
    # The full mask also drops the motion boundary, and keeps the still background.
    assert verdict.mask[band].mean() < 0.5
    background = np.ones_like(truth)
    background[20:100, 30:120] = False
    assert verdict.mask[background].mean() > 0.95


def test_out_of_frame_pixels_are_unreliable() -> None:
    a, b, _ = _affine_pair(np.float32([[1, 0, 6.0], [0, 1, 0.0]]))
    estimate = FlowEstimator()
    verdict = reliability(estimate(b, a), estimate(a, b))
    # b's left 6 columns came from outside a.
    assert verdict.out_of_frame[:, :5].mean() > 0.9
    assert verdict.out_of_frame[:, 8:].mean() < 0.01


def test_holes_take_the_contents_shapes_in_the_colours_painted_around_them() -> None:
    # The content: a grey ramp; the painting beside it: the same ramp, 60 levels bluer and
    # 40 darker in red, on the left half, a different shift on the right half.
    ramp = np.tile(np.linspace(60, 180, 64, dtype=np.float32)[None, :, None], (64, 1, 3))
    content = ramp.astype(np.uint8)
    previous = ramp.copy()
    previous[:, :32] += np.array([-40, 0, 60], np.float32)
    previous[:, 32:] += np.array([30, 20, -30], np.float32)
    holes = np.zeros((64, 64), bool)
    holes[20:30, 8:14] = True  # inside the left half
    holes[40:44, 50:60] = True  # inside the right half
    painted = np.clip(previous, 0, 255).astype(np.uint8)
    warped = warp_with_fill(painted, np.zeros((64, 64, 2), np.float32), content, holes)
    assert np.array_equal(warped[~holes], painted[~holes])
    left_shift = (warped[20:30, 8:14] - content[20:30, 8:14]).mean(axis=(0, 1))
    right_shift = (warped[40:44, 50:60] - content[40:44, 50:60]).mean(axis=(0, 1))
    assert np.abs(left_shift - [-40, 0, 60]).max() < 4
    assert np.abs(right_shift - [30, 20, -30]).max() < 4
    # The content's shapes come through: the ramp still rises across the hole.
    assert (np.diff(warped[25, 8:14, 1]) > 0).all()


def test_a_frame_that_is_all_hole_is_the_content() -> None:
    content = np.full((8, 8, 3), 250, np.uint8)
    holes = np.ones((8, 8), bool)
    warped = warp_with_fill(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 2), np.float32), content, holes)
    assert (warped == 250).all()


def test_long_term_masks_take_the_closest_reliable_frame() -> None:
    c1 = np.array([[1.0, 0.0, 0.0, 1.0]])
    c2 = np.array([[1.0, 1.0, 0.0, 0.0]])
    c4 = np.array([[1.0, 1.0, 1.0, 0.0]])
    l1, l2, l4 = long_term_masks([c1, c2, c4])
    assert l1.tolist() == [[1.0, 0.0, 0.0, 1.0]]
    assert l2.tolist() == [[0.0, 1.0, 0.0, 0.0]]
    assert l4.tolist() == [[0.0, 0.0, 1.0, 0.0]]


def test_histogram_distance_and_cut_decision() -> None:
    a = textured_frame(64, 48, seed=1)
    shifted = np.roll(a, 3, axis=1)
    other = 255 - textured_frame(64, 48, seed=9) // 2
    assert histogram_distance(a, shifted) < 0.2
    assert histogram_distance(a, other) > 0.5
    assert is_scene_cut(coverage=0.1, histogram_jump=0.0, coverage_threshold=0.3)
    assert is_scene_cut(coverage=0.9, histogram_jump=0.8, coverage_threshold=0.3)
    assert not is_scene_cut(coverage=0.9, histogram_jump=0.1, coverage_threshold=0.3)
    assert not is_scene_cut(coverage=0.0, histogram_jump=1.0, coverage_threshold=0.0)


def test_flat_areas_of_a_real_clip_stay_reliable(pens_clip: Path) -> None:
    # pens.mp4: pens on a white desk, the camera nearly still. Patch matching alone finds
    # motion all over the flat desk and the forward-backward check rejects 73% of frame 1.
    frames = [decoded.frame for decoded in read_frames(pens_clip, Segment(frames=8))]
    estimate = FlowEstimator()
    coverages = [
        reliability(estimate(current, previous), estimate(previous, current)).coverage
        for previous, current in itertools.pairwise(frames)
    ]
    assert min(coverages) > 0.55, coverages


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_motion_from_the_workers_equals_the_inline_motion(pens_clip: Path, workers: int) -> None:
    # Flows and reliability measured frames ahead in worker threads equal those measured inline
    # when the frame comes up, and so do the plans made from them.
    settings = TemporalSettings(long_term=(1, 2, 4), long_term_flow="direct")
    frames = [resize_frame(d.frame, 96, 80) for d in read_frames(pens_clip, Segment(frames=7))]
    planner = FramePlanner(settings, Shot(0, 0, len(frames)))
    visits = list(planner.visits())
    estimator = FlowEstimator(settings.flow, settings.dis_preset)
    outputs = {i: np.roll(frame, i, axis=1) for i, frame in enumerate(frames)}  # stand-in outputs
    with MotionPrefetcher(settings, workers=workers) as prefetch:
        planned = [
            (visit, future.result())
            for visit, future in prefetch.ahead(visits, lambda v: v.index, planner.routes, frames.__getitem__)
        ]
    assert [visit for visit, _ in planned] == visits
    for visit, got in planned:
        needs = planner.needs(visit)
        assert needs == tuple(i for i in (visit.index - 1, visit.index - 2, visit.index - 4) if i >= 0)
        expected = measure_motion(estimator, frames[visit.index], {i: frames[i] for i in needs})
        assert got.towards.keys() == expected.towards.keys()
        for index, motion in got.towards.items():
            np.testing.assert_array_equal(motion.backward, expected.towards[index].backward)
        before = {i: o for i, o in outputs.items() if i < visit.index}
        plan_a = planner.plan(visit, frames[visit.index], got, before.get)
        plan_b = planner.plan(visit, frames[visit.index], expected, before.get)
        assert plan_a.fresh == (visit.index == 0) == plan_b.fresh
        assert (
            [w.offset for w in plan_a.warps]
            == [w.offset for w in plan_b.warps]
            == [-i for i in (1, 2, 4)][: len(needs)]
        )
        for a, b in zip(plan_a.warps, plan_b.warps, strict=True):
            np.testing.assert_array_equal(a.warped, b.warped)
            np.testing.assert_array_equal(a.mask, b.mask)


def _motions(settings: TemporalSettings, frames: list[np.ndarray], workers: int) -> tuple[list[FrameMotion], int]:
    planner = FramePlanner(settings, Shot(0, 0, len(frames)))
    with MotionPrefetcher(settings, workers=workers) as prefetch:
        motions = [
            future.result()
            for _, future in prefetch.ahead(planner.visits(), lambda v: v.index, planner.routes, frames.__getitem__)
        ]
        return motions, prefetch.links_measured


def test_chained_long_term_flows_cost_two_flows_a_frame_and_follow_the_direct_ones(pens_clip: Path) -> None:
    # Chained from the frame-to-frame links, frame i's flows to i-2 and i-4 need no estimate of
    # their own: one link (two flows) a frame instead of three (six), in any worker layout. They
    # land near where the direct flows do, and Ruder et al.'s long-term masks leave them pixels
    # that the nearest neighbour's mask misses (a product of the links' masks would leave none).
    frames = [resize_frame(d.frame, 160, 90) for d in read_frames(pens_clip, Segment(frames=9))]
    chained_settings = TemporalSettings(long_term=(1, 2, 4))
    assert chained_settings.long_term_flow == "chained"
    chained, links = _motions(chained_settings, frames, workers=0)
    assert links == len(frames) - 1
    direct, direct_links = _motions(TemporalSettings(long_term=(1, 2, 4), long_term_flow="direct"), frames, 0)
    assert direct_links == 1 + 2 + 2 + 3 * (len(frames) - 4)  # offsets 2 and 4 from frames 2 and 4 on
    for workers in (1, 3):
        again, _ = _motions(chained_settings, frames, workers)
        for a, b in zip(chained, again, strict=True):
            assert a.towards.keys() == b.towards.keys()
            for index in a.towards:
                np.testing.assert_array_equal(a.towards[index].backward, b.towards[index].backward)
                np.testing.assert_array_equal(a.towards[index].reliability.mask, b.towards[index].reliability.mask)
    towards = chained[8].towards
    np.testing.assert_array_equal(towards[7].backward, direct[8].towards[7].backward)
    for far in (6, 4):
        got, expected = towards[far], direct[8].towards[far]
        both = (got.reliability.mask * expected.reliability.mask) > 0
        assert both.mean() > 0.25
        endpoint = np.linalg.norm(got.backward - expected.backward, axis=2)
        assert np.median(endpoint[both]) < 0.25, np.median(endpoint[both])
    masks = long_term_masks([towards[frame].reliability.mask for frame in (7, 6, 4)])
    assert masks[1].mean() > 0.01 and masks[2].mean() > 0.01, [m.mean() for m in masks]


def test_a_chained_flow_adds_its_links_motions() -> None:
    # A steady pan: back from the frame to the one before, 2 px, then 3 px to the one before
    # that. The chain is 5 px, and the strip that the pan brought in since is out of frame.
    height, width = 32, 48
    rng = np.random.default_rng(0)
    texture = (rng.random((height, width + 16, 3)) * 255).astype(np.uint8)
    texture = cv2.GaussianBlur(texture, (0, 0), 1.0)
    frames = [np.ascontiguousarray(texture[:, shift : shift + width]) for shift in (0, 3, 5)]
    estimator = FlowEstimator()
    links = [measure_link(estimator, frames[2], frames[1]), measure_link(estimator, frames[1], frames[0])]
    motion = chained_motion(links)
    inner = (slice(8, -8), slice(8, -16))
    assert np.median(motion.backward[inner][..., 0]) == pytest.approx(5.0, abs=0.25)
    assert np.median(motion.backward[inner][..., 1]) == pytest.approx(0.0, abs=0.25)
    assert motion.reliability.out_of_frame[:, -5:].all()
    assert not motion.reliability.out_of_frame[:, :-6].any()
    assert motion.reliability.mask[inner].mean() > 0.9


class _FakeEngine:
    """torch-nvidia-of-sdk's session as the NVIDIA Optical Flow SDK defines its output: each
    pixel of the input frame to where it is in the reference frame. This fake finds one
    translation for the whole frame by search."""

    made = 0

    @classmethod
    def from_tensor(cls, input: Any, preset: str = "fast", grid_size: int = 1) -> _FakeEngine:
        cls.made += 1
        return cls()

    def compute_flow(self, input: Any, reference: Any, upsample: bool = True) -> Any:
        import torch

        a, b = input.float(), reference.float()
        height, width = a.shape[:2]
        inner = (slice(MARGIN, height - MARGIN), slice(MARGIN, width - MARGIN))
        errors = {
            (dx, dy): (a[inner] - torch.roll(b, shifts=(-dy, -dx), dims=(0, 1))[inner]).abs().mean().item()
            for dx in range(-5, 6)
            for dy in range(-5, 6)
        }
        dx, dy = min(errors, key=errors.__getitem__)
        return torch.tensor([dx, dy], dtype=torch.float32).expand(height, width, 2).clone()


@pytest.fixture
def fake_nvof(monkeypatch: pytest.MonkeyPatch) -> type[_FakeEngine]:
    import sys
    import types

    import torch

    from vidstyle.flow import nvof

    module = types.ModuleType("of")
    module.TorchNVOpticalFlow = _FakeEngine  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "of", module)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(nvof, "DEVICE", "cpu")
    monkeypatch.setattr(nvof, "_SESSIONS", {})
    _FakeEngine.made = 0
    return _FakeEngine


def test_nvof_flow_points_the_way_the_other_flows_do(fake_nvof: type[_FakeEngine]) -> None:
    # b is a moved 3 px right and 1 px down: flow(a, b) is (+3, +1) by this package's
    # convention, whichever estimator measures it.
    a = textured_frame(W, H, seed=1)
    b = np.roll(a, shift=(1, 3), axis=(0, 1))
    inner = (slice(MARGIN, H - MARGIN), slice(MARGIN, W - MARGIN))
    for method in ("nvof", "dis"):
        flow = FlowEstimator(method)(a, b)  # type: ignore[arg-type]
        assert flow.dtype == np.float32 and flow.shape == (H, W, 2)
        assert np.median(flow[inner][..., 0]) == pytest.approx(3, abs=0.25), method
        assert np.median(flow[inner][..., 1]) == pytest.approx(1, abs=0.25), method


def test_nvof_workers_share_one_session_per_frame_size(fake_nvof: type[_FakeEngine]) -> None:
    # Flow workers each have their own estimator (OpenCV's keep state); the card's engine is
    # one, and its session is made once per frame size for all of them.
    frames = [textured_frame(W, H, seed=seed) for seed in range(4)]
    estimators = [FlowEstimator("nvof") for _ in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda e: [e(frames[i], frames[i + 1]) for i in range(3)], estimators))
    assert fake_nvof.made == 1
    FlowEstimator("nvof")(textured_frame(64, 48), textured_frame(64, 48, seed=2))
    assert fake_nvof.made == 2
