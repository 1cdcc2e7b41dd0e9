"""``vidstyle probe``: what a user sees about a file."""

from __future__ import annotations

import re
from pathlib import Path

from tests.clips import make_clip, with_extras
from vidstyle.cli import main


def test_probe_prints_the_video_info(pens_clip: Path, capsys) -> None:
    assert main(["probe", str(pens_clip)]) == 0
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert rows["size"] == "144x176 (rotated 270 deg for display)"
    assert rows["frame rate"] == "variable, 29.488 fps on average (from 16.997 to 29.930)"
    assert rows["video"] == "h264, yuvj420p, full range"
    assert rows["frames"] == "64"
    assert rows["audio #1"] == "aac, 48000 Hz, 2 channels"
    assert not any(name.startswith(("subtitles", "chapters", "attachments")) for name in rows)


def test_probe_lists_subtitle_tracks_chapters_and_attachments(tmp_path: Path, capsys) -> None:
    plain = make_clip(tmp_path / "plain.mkv", frames=5)
    chapters = [(0.0, 0.1, "a"), (0.1, 0.2, "b")]
    attachments = [("a.ttf", "font/ttf", b"1"), ("b.otf", "font/otf", b"2")]
    clip = with_extras(plain, tmp_path / "in.mkv", [(0.0, 0.1, "hej")], chapters=chapters, attachments=attachments)
    assert main(["probe", str(clip)]) == 0
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert rows["subtitles #2"] == "srt (swe)"
    assert rows["chapters"] == "2"
    assert rows["attachments"] == "a.ttf, b.otf"


def test_probe_of_a_text_file_is_one_line(tmp_path: Path, capsys) -> None:
    text = tmp_path / "readme.txt"
    text.write_text("not a video\n" * 10)
    assert main(["probe", str(text)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a video" in err[0]


def test_probe_without_a_file_is_a_usage_error(capsys) -> None:
    assert main(["probe"]) == 2
    assert "required: file" in capsys.readouterr().err


def test_probe_of_an_image_shows_its_size_and_no_video_rows(great_wave: Path, capsys) -> None:
    assert main(["probe", str(great_wave)]) == 0
    captured = capsys.readouterr()
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in captured.out.splitlines())
    assert set(rows) == {"file", "image", "size"}
    assert rows["size"] == "665x450"
    assert rows["image"].startswith("mjpeg, ")
    assert "planning shots" not in captured.err
