"""Style images' uniform borders are trimmed, and leave no line along a result's edges."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidstyle import imageops
from vidstyle.borders import Border, border_line_score, uniform_border
from vidstyle.image_pipeline import stylize_image
from vidstyle.metrics import measure

BEIGE = (205, 190, 150)


def framed(painting: np.ndarray, black: int = 7, beige: int = 4) -> np.ndarray:
    """A painting as photographed in its frame: a black band, then a beige canvas edge."""
    inner = cv2.copyMakeBorder(painting, beige, beige, beige, beige, cv2.BORDER_CONSTANT, value=BEIGE)
    return cv2.copyMakeBorder(inner, black, black, black, black, cv2.BORDER_CONSTANT, value=(0, 0, 0))


@pytest.fixture(scope="module")
def framed_style(tmp_path_factory: pytest.TempPathFactory, starry_night: Path) -> Path:
    path = tmp_path_factory.mktemp("style") / "framed.png"
    # A thick frame and mat: at 128 px the style image's 7 px frame is about one pixel wide.
    style = framed(imageops.read_image(starry_night), black=20, beige=12)
    cv2.imwrite(str(path), cv2.cvtColor(style, cv2.COLOR_RGB2BGR))
    return path


def test_a_frame_is_found_with_its_ragged_edge(starry_night: Path) -> None:
    painting = imageops.read_image(starry_night)
    picture = framed(painting)
    height, width = picture.shape[:2]
    # The black band (the beige lines hold black at their ends: not uniform), plus 2.5% of the
    # side for the edge where frame meets painting.
    rows, columns = 7 + math.ceil(0.025 * height), 7 + math.ceil(0.025 * width)
    assert uniform_border(picture) == Border(top=rows, bottom=rows, left=columns, right=columns)


@pytest.mark.parametrize("name", ["starry_night.jpg", "great_wave.jpg"])
def test_paintings_without_a_frame_keep_every_pixel(name: str) -> None:
    painting = imageops.read_image(Path(__file__).resolve().parent.parent / "samples" / name)
    assert not uniform_border(painting)


def test_the_line_score_finds_a_frame_and_not_a_painting(starry_night: Path) -> None:
    painting = imageops.read_image(starry_night)
    assert border_line_score(painting) < 4
    assert border_line_score(framed(painting)) > 20


@pytest.mark.slow
def test_a_framed_style_leaves_no_line_once_trimmed(framed_style: Path, great_wave: Path, tmp_path: Path) -> None:
    content_score = border_line_score(imageops.resize_frame(imageops.read_image(great_wave), 128, 87))
    scores, measured = {}, {}
    for keep in (True, False):
        output = tmp_path / f"keep-{keep}.png"
        stylize_image(great_wave, framed_style, output, size=128, iterations=60, scales=1, keep_style_borders=keep)
        result = imageops.read_image(output)
        scores[keep] = border_line_score(result)
        measured[keep] = measure([imageops.read_image(great_wave)], [result], styles=(framed_style,))
    assert scores[True] > 2 * content_score, scores  # the frame, painted along the edges
    assert scores[False] < 1.5 * content_score, (scores, content_score)
    # vidstyle metrics reports the line, and its style loss does not reward it.
    assert measured[True].border_line == pytest.approx(scores[True])
    assert measured[False].style_loss < measured[True].style_loss
