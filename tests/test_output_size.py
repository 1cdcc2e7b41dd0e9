"""What the user asked for, at the size they gave: the output's size, the first lines of a
render, options that do nothing refused, location tags, and a look at a running render."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests import conftest
from tests.clips import make_clip
from vidstyle.cli import main
from vidstyle.errors import UsageError
from vidstyle.image_pipeline import stylize_image
from vidstyle.peek import peek, peek_path
from vidstyle.pipeline import FrameProgress, stylize_video
from vidstyle.video_info import probe
from vidstyle.video_io import read_frames

# The detail pass is off here: these tests are about the size written (tests/test_detail.py
# holds the detail pass), and at 1080p it would take most of a minute.
TINY = {**conftest.TINY, "detail": "off"}
TINY_ARGS = [*conftest.TINY_ARGS, "--detail", "off"]


def _flat_halves(width: int, height: int) -> np.ndarray:
    """Red above, blue below: which way up a frame is, at any size."""
    frame = np.empty((height, width, 3), np.uint8)
    frame[: height // 2], frame[height // 2 :] = (220, 40, 40), (40, 40, 220)
    return frame


@pytest.fixture(scope="module")
def hd_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 1920x1080 frames, as a phone or a camera records them, with a location tag."""
    frame = _flat_halves(1920, 1080)
    path = tmp_path_factory.mktemp("hd") / "hd.mp4"
    raw = path.with_name("raw.mp4")
    make_clip(raw, frames=3, width=1920, height=1080, make_frame=lambda i: frame, audio=None)
    with av.open(str(raw)) as source, av.open(str(path), "w") as tagged:
        tagged.metadata.update({"location": "+48.8577+002.2950/", "title": "holiday"})
        stream = tagged.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                tagged.mux(packet)
    return path


def test_a_1080p_clip_comes_back_1080p_and_says_so_first(hd_clip: Path, starry_night: Path, capsys) -> None:
    output = hd_clip.with_name("out.mp4")
    assert main([str(hd_clip), "--style", str(starry_night), *TINY_ARGS, "-o", str(output)]) == 0
    info = probe(output)
    assert (info.width, info.height) == (1920, 1080)
    frames = [decoded.frame for decoded in read_frames(output)]
    assert len(frames) == 3
    # Painted small and enlarged: still red above, blue below, at the full size.
    assert frames[0][100, 960, 0] > frames[0][100, 960, 2] and frames[0][980, 960, 2] > frames[0][980, 960, 0]
    err = capsys.readouterr().err
    first_bar = err.index("stylizing")
    for line in (
        "hd.mp4: 3 frames, 1 shot(s); painted at 64x36, written at 1920x1080 (enlarged with Lanczos); cpu,",
        "estimated time: about ",
        "; --size source would paint at 1920x1080: about ",
        f"work folder: {output}.vidstyle-work; 'vidstyle peek {output}' shows the frames finished so far",
    ):
        assert err.index(line) < first_bar, line
    # The location stays home; the title comes along.
    assert "location" not in probe(output).metadata and probe(output).metadata["title"] == "holiday"
    assert "the source's location (location, location-eng) is left out of out.mp4; --keep-location keeps it" in err


def test_output_size_processing_keeps_the_painted_size_and_keep_location_the_tag(
    hd_clip: Path, starry_night: Path
) -> None:
    output = hd_clip.with_name("small.mp4")
    report = stylize_video(
        hd_clip, starry_night, output, frames=1, output_size="processing", keep_location=True, **TINY
    )
    assert (report.width, report.height) == (report.painted_width, report.painted_height) == (64, 36)
    info = probe(output)
    assert (info.width, info.height) == (64, 36)
    assert info.metadata["location"] == "+48.8577+002.2950/"


def test_a_portrait_phone_clip_comes_out_upright_at_its_displayed_size(tmp_path: Path, starry_night: Path) -> None:
    # Stored 1280x720 and turned a quarter for display, as a phone records upright video.
    frame = np.ascontiguousarray(np.rot90(_flat_halves(720, 1280), k=-1))
    clip = make_clip(
        tmp_path / "phone.mp4", frames=2, width=1280, height=720, rotation=90, make_frame=lambda i: frame, audio=None
    )
    output = tmp_path / "out.mp4"
    report = stylize_video(clip, starry_night, output, **TINY)
    assert (report.painted_width, report.painted_height) == (36, 64)
    info = probe(output)
    assert (info.width, info.height, info.rotation) == (720, 1280, 0)
    upright = next(iter(read_frames(output))).frame
    assert upright[100, 360, 0] > upright[100, 360, 2] and upright[1180, 360, 2] > upright[1180, 360, 0]


def test_size_source_paints_at_the_source_size(tmp_path: Path, starry_night: Path) -> None:
    clip = make_clip(tmp_path / "small.mp4", frames=1, width=80, height=48, audio=None)
    report = stylize_video(clip, starry_night, tmp_path / "out.mp4", **{**TINY, "size": "source"})
    assert (report.painted_width, report.painted_height) == (report.width, report.height) == (80, 48)


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--passes", "4"], "--passes"),
        (["--loop"], "--loop"),
        (["--temporal-weight", "0"], "--temporal-weight"),
        (["--long-term", "1,2"], "--long-term"),
        (["--ray", "local"], "--ray"),
        (["--crf", "20"], "--crf"),
        (["--start", "1"], "--start"),
        (["--keep-location"], "--keep-location"),
    ],
)
def test_a_video_option_given_with_an_image_is_refused_in_one_line(
    args: list[str], flag: str, photo_path: Path, starry_night: Path, tmp_path: Path, capsys
) -> None:
    output = tmp_path / "out.png"
    assert main([str(photo_path), "--style", str(starry_night), *args, "-o", str(output)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"vidstyle: error: {flag} only applies to video input"] and not output.exists()


def test_the_api_refuses_video_options_for_an_image(photo_path: Path, starry_night: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--passes, --loop only apply to video input"):
        stylize_image(photo_path, starry_night, tmp_path / "out.png", passes=4, loop=True)


def test_the_old_preset_spelling_names_both(photo_path: Path, starry_night: Path, tmp_path: Path, capsys) -> None:
    clip_path = make_clip(tmp_path / "clip.mp4", frames=2, audio=None)
    line = "vidstyle: error: --preset is now --x264-preset (x264's speed); the quality presets are --quality"
    for source in (clip_path, photo_path):
        assert main([str(source), "--style", str(starry_night), "--preset", "fast"]) == 2
        assert capsys.readouterr().err.strip().splitlines() == [line]
    with pytest.raises(UsageError, match="--preset is now --x264-preset"):
        stylize_video(clip_path, starry_night, tmp_path / "out.mp4", preset="fast")
    report = stylize_video(clip_path, starry_night, tmp_path / "out.mp4", frames=1, x264_preset="ultrafast", **TINY)
    assert report.frames == 1


def test_peek_during_a_render_leaves_its_result_as_it_would_be(tmp_path: Path, starry_night: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=6, rate=Fraction(25))
    undisturbed = stylize_video(clip, starry_night, tmp_path / "a.mp4", **TINY).output
    peeked: list[tuple[int, int, int]] = []
    output = tmp_path / "b.mp4"

    def look(progress: FrameProgress) -> None:
        if progress.done == 3:
            report = peek(output)
            peeked.append((report.frames, report.total, len(list(read_frames(report.path)))))

    stylize_video(clip, starry_night, output, on_frame=look, **TINY)
    assert peeked == [(3, 6, 3)]
    assert output.read_bytes() == undisturbed.read_bytes()
    # The peek shows the frames with their timing in the source, from its first.
    times = [decoded.time for decoded in read_frames(peek_path(output))]
    assert times == [Fraction(0), Fraction(1, 25), Fraction(2, 25)]


def test_peek_without_a_render_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["peek", str(tmp_path / "nothing.mp4")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no render in progress" in err[0]


def test_a_coarse_to_fine_bar_says_what_it_counts(tmp_path: Path, starry_night: Path, capsys) -> None:
    import cv2

    from tests.conftest import textured_frame

    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), textured_frame(256, 192))
    args = [str(photo), "--style", str(starry_night), "--iterations", "6", "--scales", "2", "--tolerance", "0"]
    assert main([*args, "-o", str(tmp_path / "out.png")]) == 0
    err = capsys.readouterr().err
    assert "the bar counts 9 iterations: 6 at 128x96, then 3 at 256x192" in err
    assert re.search(r"stylizing: 100%\|\S+\| 9/9", err), err
