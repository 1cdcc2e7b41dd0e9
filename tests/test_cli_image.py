"""The command line on still images, run in-process through ``main`` as a user would type it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import textured_frame
from vidstyle import stylize_image
from vidstyle.cli import main
from vidstyle.outputs import _umask

FAST = ["--iterations", "8", "--scales", "1", "--size", "64", "--quiet"]


def test_stylizes_an_image_to_the_default_name(photo_path: Path, starry_night: Path, capsys) -> None:
    assert main([str(photo_path), "--style", str(starry_night), *FAST]) == 0
    output = photo_path.with_name("photo.starry_night.png")
    assert output.exists()
    assert capsys.readouterr().out.strip() == str(output)
    picture = cv2.imread(str(output))
    assert picture.shape == (64, 48, 3)
    assert not list(photo_path.parent.glob(".*partial*")), "temporary file left behind"
    # Readable like any file the user makes (the temporary file was private).
    assert output.stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_refuses_to_overwrite_without_flag(photo_path: Path, starry_night: Path, tmp_path: Path, capsys) -> None:
    output = tmp_path / "mine.jpg"
    output.write_bytes(b"precious")
    code = main([str(photo_path), "--style", str(starry_night), "-o", str(output), *FAST])
    err = capsys.readouterr().err
    assert code == 1
    assert output.read_bytes() == b"precious"
    assert "already exists" in err and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1
    assert main([str(photo_path), "--style", str(starry_night), "-o", str(output), "-y", *FAST]) == 0
    assert cv2.imread(str(output)).shape == (64, 48, 3)


def test_never_overwrites_the_input(photo_path: Path, starry_night: Path, capsys) -> None:
    before = photo_path.read_bytes()
    code = main([str(photo_path), "--style", str(starry_night), "-o", str(photo_path), "-y", *FAST])
    assert code == 1
    assert photo_path.read_bytes() == before
    assert "overwrite an input" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["missing.jpg", "--style", "{style}"], 1, "missing.jpg: no such file"),
        (["{junk}", "--style", "{style}"], 1, "not an image"),
        (["{photo}", "--style", "{junk}"], 1, "not an image"),
        (["{photo}", "--style", "{style}", "--quality", "ultra"], 2, "invalid choice: 'ultra'"),
        (["{photo}", "--style", "{style}", "--size", "big"], 2, "--size: not a number or source: 'big'"),
        (["{photo}", "--style", "{style}", "--style-weight", "-1"], 2, "--style-weight must be zero or more"),
        (
            ["{photo}", "--style", "{style}", "{style}", "--style-weights", "1"],
            2,
            "--style-weights: 1 weight for 2 style images",
        ),
        (["{photo}", "--style", "{style}", "--size", "0"], 2, "--size must be at least 16 px or source; got 0"),
        (["{photo}", "--style", "{style}", "--threads", "0"], 2, "--threads must be at least 1; got 0"),
        (["{photo}", "--style", "{style}", "--precision", "fp8"], 2, "invalid choice: 'fp8'"),
        (["{photo}", "--style", "{style}", "-o", "out.gif"], 1, "needs an image output"),
        (["{photo}"], 2, "--style"),
        (["{photo}", "--style", "{style}", "--preview"], 2, "--preview only applies to video input"),
        (
            ["{photo}", "--style", "{style}", "--start", "3", "--frames", "2"],
            2,
            "--start, --frames only apply to video",
        ),
        (["{tiny}", "--style", "{style}"], 2, "7x5 is too small to stylize"),
        (["https://example.com/clip.mp4", "--style", "{style}"], 2, "https://example.com/clip.mp4: vidstyle takes"),
        (["{photo}", "--style", "http://example.com/a.jpg"], 2, "http://example.com/a.jpg: vidstyle takes files"),
        (["{photo}", "--style", "{style}", "-o", "s3://bucket/out.png"], 2, "s3://bucket/out.png: vidstyle"),
    ],
)
def test_bad_input_gives_one_clear_line(
    args: list[str], code: int, message: str, photo_path: Path, starry_night: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG but not really")
    tiny = tmp_path / "tiny.png"
    cv2.imwrite(str(tiny), np.zeros((5, 7, 3), np.uint8))
    filled = [a.format(style=starry_night, photo=photo_path, junk=junk, tiny=tiny) for a in args]
    assert main([*filled, "--quiet"]) == code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert message in lines[0]
    assert "Traceback" not in captured.err


def test_python_api(photo_path: Path, starry_night: Path, great_wave: Path, tmp_path: Path) -> None:
    output = tmp_path / "api.png"
    report = stylize_image(
        photo_path, [starry_night, great_wave], output, style_weights=[0.5, 0.5], size=48, iterations=5, scales=1
    )
    assert report.output == output and output.exists()
    assert (report.width, report.height) == (36, 48)
    assert report.iterations == 5


def _cut_out(path: Path, bits: int = 8) -> np.ndarray:
    """A 80x60 picture, opaque in a 40x40 square and transparent around it; returns its alpha."""
    peak = 255 if bits == 8 else 65535
    rgba = np.zeros((60, 80, 4), np.uint8 if bits == 8 else np.uint16)
    rgba[..., :3] = textured_frame(80, 60).astype(rgba.dtype) * (peak // 255)
    rgba[10:50, 20:60, 3] = peak
    cv2.imwrite(str(path), rgba)
    return rgba[..., 3]


@pytest.mark.parametrize(("name", "bits"), [("out.png", 8), ("out.webp", 8), ("out.png", 16)])
def test_a_transparent_input_keeps_its_transparency(
    name: str, bits: int, tmp_path: Path, starry_night: Path, capsys
) -> None:
    source = tmp_path / "cut_out.png"
    _cut_out(source, bits)
    output = tmp_path / name
    assert main([str(source), "--style", str(starry_night), "-o", str(output), *FAST]) == 0
    written = cv2.imread(str(output), cv2.IMREAD_UNCHANGED)
    assert written.shape == (48, 64, 4)
    alpha = written[..., 3].astype(int)
    assert alpha[8:40, 16:48].min() >= 250 and alpha[:6].max() <= 5 and alpha[:, :14].max() <= 5
    assert capsys.readouterr().err == ""


def test_a_transparent_input_written_as_jpeg_says_the_transparency_is_lost(
    tmp_path: Path, starry_night: Path, capsys
) -> None:
    source = tmp_path / "cut_out.png"
    _cut_out(source)
    output = tmp_path / "out.jpg"
    assert main([str(source), "--style", str(starry_night), "-o", str(output), *FAST]) == 0
    assert cv2.imread(str(output), cv2.IMREAD_UNCHANGED).shape == (48, 64, 3)
    assert capsys.readouterr().err.splitlines() == [
        "vidstyle: warning: cut_out.png: its transparency is not kept in out.jpg; write .png or .webp to keep it"
    ]


def test_an_opaque_input_stays_rgb(photo_path: Path, starry_night: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.png"
    assert main([str(photo_path), "--style", str(starry_night), "-o", str(output), *FAST]) == 0
    assert cv2.imread(str(output), cv2.IMREAD_UNCHANGED).shape[2] == 3
