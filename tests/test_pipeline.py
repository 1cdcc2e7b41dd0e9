"""The whole video pipeline, end to end, on tiny real clips: timing, audio, resume, cuts."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.clips import make_clip, moving_texture
from tests.conftest import SAMPLES, TINY, TINY_ARGS
from tests.test_video_io import packet_bytes
from vidstyle import device as device_module
from vidstyle.cli import main
from vidstyle.config import build_job
from vidstyle.errors import InputFileError, ResumeMismatchError
from vidstyle.estimate import estimate_full_render
from vidstyle.imageops import read_image, resize_frame
from vidstyle.pipeline import VideoReport, stylize_video
from vidstyle.video_info import probe
from vidstyle.video_io import read_frames
from vidstyle.workdir import WorkDir, work_dir_for


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_clip(tmp_path / "clip.mp4", frames=10, rate=Fraction(25))


def test_cli_renders_a_video_with_its_timing_and_audio(clip: Path, starry_night: Path, capsys) -> None:
    assert main([str(clip), "--style", str(starry_night), *TINY_ARGS, "--quiet"]) == 0
    output = clip.with_name("clip.starry_night.mp4")
    assert capsys.readouterr().out.strip() == str(output)
    source, result = list(read_frames(clip)), list(read_frames(output))
    assert len(result) == len(source) == 10
    assert [f.time for f in result] == [f.time for f in source]
    assert packet_bytes(output, "audio") == packet_bytes(clip, "audio")
    info = probe(output)
    assert (info.width, info.height) == (64, 48)
    # Stylized: far from the source pixels, yet not a flat or broken picture.
    difference = np.mean(
        [np.abs(a.frame.astype(int) - b.frame.astype(int)).mean() for a, b in zip(source, result, strict=True)]
    )
    assert difference > 10
    assert all(f.frame.std() > 10 for f in result)
    assert not work_dir_for(output).exists(), "work folder left behind"


def render_interrupted(clip: Path, style: Path, output: Path, *, after: int, **options: object) -> None:
    """Start a render and stop it (as Ctrl-C does) once ``after`` frame visits are saved."""

    def stop(progress) -> None:
        if progress.done == after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stylize_video(clip, style, output, on_frame=stop, **options)


def _frames_of(work: Path) -> list[np.ndarray]:
    store = WorkDir(work)
    return [store.load(i) for i in range(len(store.records()))]


def test_a_restart_cleans_what_a_killed_run_left_and_deletes_only_a_work_folder(
    clip: Path, starry_night: Path, tmp_path: Path, capsys
) -> None:
    output = tmp_path / "out.mp4"
    render_interrupted(clip, starry_night, output, after=2, **TINY)
    work = work_dir_for(output)
    # What a SIGKILL leaves: temporary files of a frame and of the output, never renamed.
    torn_frame = work / "frames" / ".000002.abcd_123.partial.png"
    torn_output = tmp_path / ".out.x1y2z3w4.partial.mp4"
    other = tmp_path / ".out.starry.x1y2z3w4.partial.mp4"  # not this output's: kept
    for path in (torn_frame, torn_output, other):
        path.write_bytes(b"half")
    stylize_video(clip, starry_night, output, keep_frames=True, **TINY)
    assert not torn_output.exists() and other.exists() and not torn_frame.exists()
    assert len(WorkDir(work).records()) == 10
    # --restart deletes a vidstyle work folder, never a folder of the user's that has its name.
    mine = work_dir_for(tmp_path / "mine.mp4")
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    args = [str(clip), "--style", str(starry_night), *TINY_ARGS, "-o", str(tmp_path / "mine.mp4"), "--restart", "-q"]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a vidstyle work folder" in err[0] and (mine / "notes.txt").exists()


def test_a_size_too_big_for_memory_is_one_line_before_any_work(
    clip: Path, starry_night: Path, tmp_path: Path, capsys
) -> None:
    for source, output in ((clip, tmp_path / "big.mp4"), (starry_night, tmp_path / "big.png")):
        assert main([str(source), "--style", str(starry_night), "--size", "100000", "-o", str(output), "-q"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "GiB free; use --size" in err[0], err
        assert not output.exists() and not work_dir_for(output).exists()


@pytest.mark.parametrize(("native_bf16", "dtype"), [(False, "float32"), (True, "bfloat16")])
def test_the_cli_says_what_it_will_do_before_the_first_frame(
    clip: Path, starry_night: Path, capsys, monkeypatch, native_bf16: bool, dtype: str
) -> None:
    # --precision auto follows the CPU: the log names what was chosen for the CPU it was given.
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: native_bf16)
    assert main([str(clip), "--style", str(starry_night), *TINY_ARGS, "--frames", "2", "--threads", "1"]) == 0
    err = capsys.readouterr().err
    first_bar = err.index("stylizing")
    first_line = f"clip.mp4: 2 frames, 1 shot(s); painted and written at 64x48; cpu, {dtype}, 1 thread\n"
    assert err.index("planning shots") < err.index(first_line)
    assert err.index("1 thread\n") < first_bar
    assert re.search(r"stylizing: 0frame \[[\d:]+, \?frame/s, it=1/6\]", err), err  # up during the first frame


def test_the_shot_plan_reports_its_progress_and_a_resume_skips_it(
    clip: Path, starry_night: Path, tmp_path: Path, capsys
) -> None:
    output = tmp_path / "out.mp4"
    planned: list[tuple[int, int]] = []
    render_interrupted(clip, starry_night, output, after=2, on_plan=lambda *done: planned.append(done), **TINY)
    assert planned == [(done, 10) for done in range(11)]
    planned.clear()
    stylize_video(clip, starry_night, output, on_plan=lambda *done: planned.append(done), **TINY)
    assert planned == []  # the plan was kept in the work folder
    # The command line shows it as a bar.
    args = [str(clip), "--style", str(starry_night), *TINY_ARGS, "-o", str(tmp_path / "cli.mp4")]
    assert main(args) == 0
    assert re.search(r"planning shots: 100%\|\S+\| 10/10", capsys.readouterr().err)


def test_progress_after_a_resume_tells_the_visits_done_before_apart(
    clip: Path, starry_night: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out.mp4"
    render_interrupted(clip, starry_night, output, after=4, **TINY)
    seen: list[tuple[int, int, int]] = []
    report = stylize_video(
        clip, starry_night, output, on_frame=lambda p: seen.append((p.done, p.done_before, p.expected)), **TINY
    )
    assert seen == [(done, 4, 10) for done in range(5, 11)]
    # The summary's total counts the first run's 4 frames too.
    assert report.rendered == 6 and report.all_runs_render_seconds > report.render_seconds > 0


def test_a_resume_on_another_setup_goes_on_and_says_so(clip: Path, starry_night: Path, tmp_path: Path, caplog) -> None:
    output = tmp_path / "out.mp4"
    render_interrupted(clip, starry_night, output, after=3, threads=1, **TINY)
    with caplog.at_level("WARNING", logger="vidstyle"):
        report = stylize_video(clip, starry_night, output, threads=2, **TINY)
    assert report.rendered == 7
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "resuming on another setup (threads 1 -> 2)" in warnings[0], warnings


@pytest.mark.slow
def test_the_same_command_twice_gives_the_same_frames(tmp_path: Path, starry_night: Path) -> None:
    """Real footage, default threads and early stopping (the tolerance), flow on its worker."""
    clip = SAMPLES / "pens.mp4"
    frames = []
    for name in ("first", "second"):
        output = tmp_path / f"{name}.mp4"
        args = [str(clip), "--style", str(starry_night), "--size", "64", "--iterations", "20"]
        assert (
            main([*args, "--frame-iterations", "10", "--frames", "14", "-o", str(output), "--keep-frames", "-q"]) == 0
        )
        frames.append(_frames_of(work_dir_for(output)))
    assert len(frames[0]) == len(frames[1]) == 14
    for index, (a, b) in enumerate(zip(*frames, strict=True)):
        assert np.array_equal(a, b), f"frame {index} differs between two runs of one command"


def test_a_disk_too_full_for_the_frames_is_one_line_before_any_work(
    clip: Path, starry_night: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    # The estimate holds what a render writes: 10 PNG frames at 64x48 ...
    kept = tmp_path / "kept.mp4"
    stylize_video(clip, starry_night, kept, keep_frames=True, **TINY)
    written = sum(path.stat().st_size for path in (work_dir_for(kept) / "frames").iterdir())
    assert 0 < written <= 10 * 64 * 48 * 3
    # ... and a disk with less free space than that stops the render before its first frame.
    import shutil

    real_usage = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: real_usage(path)._replace(free=50_000))
    output = tmp_path / "full.mp4"
    capsys.readouterr()  # what the render above logged, where an earlier main() left logging on
    assert main([str(clip), "--style", str(starry_night), *TINY_ARGS, "-o", str(output), "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs about 92 kB for 10 frames at 64x48, and its disk has 50 kB free" in err[0], err
    assert not output.exists() and not WorkDir(work_dir_for(output)).records()
    # With a detail pass, the delivered frames count too, and the line names what shrinks them.
    args = [str(clip), "--style", str(starry_night), *TINY_ARGS, "--size", "32", "--output-size", "source", "-q"]
    assert main([*args, "-o", str(tmp_path / "detailed.mp4")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs about 115 kB for 10 frames at 32x24 and 10 delivered at 64x48" in err[0], err
    assert "--detail off" in err[0], err


def test_output_size_source_enlarges_to_the_input(clip: Path, starry_night: Path, tmp_path: Path) -> None:
    output = tmp_path / "big.mkv"
    report = stylize_video(clip, starry_night, output, **{**TINY, "size": 32}, output_size="source")
    assert (report.width, report.height) == (64, 48)
    assert next(iter(read_frames(output))).frame.shape == (48, 64, 3)


def test_interrupted_render_resumes_to_identical_frames(clip: Path, starry_night: Path, tmp_path: Path) -> None:
    whole = tmp_path / "whole.mp4"
    stylize_video(clip, starry_night, whole, keep_frames=True, **TINY)
    expected = _frames_of(work_dir_for(whole))
    assert len(expected) == 10

    resumed = tmp_path / "resumed.mp4"

    render_interrupted(clip, starry_night, resumed, after=4, keep_frames=True, **TINY)
    assert not resumed.exists()
    assert sorted(WorkDir(work_dir_for(resumed)).records()) == [0, 1, 2, 3]
    report = stylize_video(clip, starry_night, resumed, keep_frames=True, **TINY)
    assert report.resumed_from == 4 and report.rendered == 6
    frames = _frames_of(work_dir_for(resumed))
    assert len(frames) == 10
    for index, (a, b) in enumerate(zip(expected, frames, strict=True)):
        assert np.array_equal(a, b), f"frame {index} differs after resuming"
    assert [f.time for f in read_frames(resumed)] == [f.time for f in read_frames(whole)]
    assert resumed.read_bytes() == whole.read_bytes()


def test_a_failed_start_leaves_no_work_folder(clip: Path, starry_night: Path, tmp_path: Path, capsys) -> None:
    # The work folder is made before the shots are planned, which finds nothing after --start.
    output = tmp_path / "out.mp4"
    args = [str(clip), "--style", str(starry_night), "-o", str(output), *TINY_ARGS, "--start", "99", "-q"]
    assert main(args) == 1
    # The line says where the video ends, so that the user can pick a --start inside it.
    last = float(list(read_frames(clip))[-1].time)
    assert f"no decodable frame after 99.000 s (its last frame is at {last:.3f} s)" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4"]


def test_changed_settings_are_not_mixed_in(clip: Path, starry_night: Path, tmp_path: Path, capsys) -> None:
    output = tmp_path / "out.mp4"

    render_interrupted(clip, starry_night, output, after=2, **TINY)
    with pytest.raises(ResumeMismatchError, match=r"other settings \(--style-weight: 10.0 -> 20.0\)"):
        stylize_video(clip, starry_night, output, style_weight=20.0, **TINY)
    # Through the CLI: one line, exit 1, and --restart starts over.
    args = [str(clip), "--style", str(starry_night), "-o", str(output), *TINY_ARGS, "--style-weight", "20", "-q"]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--restart" in err[0] and "2 frame(s)" in err[0]
    assert main([*args, "--restart"]) == 0
    assert len(list(read_frames(output))) == 10


def test_frames_of_an_interlaced_source_read_woven_are_not_mixed_in(
    clip: Path, starry_night: Path, tmp_path: Path
) -> None:
    # Before interlaced frames were read as their top fields, a work folder's manifest had no
    # "reading": its frames were painted from woven ones, and must not be resumed from.
    interlaced = make_clip(tmp_path / "i.mp4", frames=4, audio=None, options={"x264-params": "interlaced=1"})
    output = tmp_path / "out.mp4"
    render_interrupted(interlaced, starry_night, output, after=2, **TINY)
    manifest_path = work_dir_for(output) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest.pop("reading") == "top fields"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ResumeMismatchError, match=r"other settings \(how the source's frames are read\: None -> top"):
        stylize_video(interlaced, starry_night, output, **TINY)
    # A progressive source's manifest has no such entry, so older work folders still resume.
    progressive = tmp_path / "p.mp4"
    render_interrupted(clip, starry_night, progressive, after=2, **TINY)
    assert "reading" not in json.loads((work_dir_for(progressive) / "manifest.json").read_text())


def test_segment_render_keeps_audio_in_sync(tmp_path: Path, starry_night: Path) -> None:
    source = make_clip(tmp_path / "long.mp4", frames=40, audio_burst_at=1.0)
    output = tmp_path / "part.mp4"
    stylize_video(source, starry_night, output, start=0.6, duration=0.8, **TINY)
    frames = list(read_frames(output))
    assert len(frames) == 20
    assert frames[0].time == 0
    from tests.clips import audio_onset

    assert audio_onset(output) == pytest.approx(0.4, abs=0.003)


def _shown_at(path: Path, index: int) -> float:
    """When a video frame is shown, in the file's own timeline (as players show it)."""
    import av

    with av.open(str(path)) as container:
        for position, frame in enumerate(container.decode(video=0)):
            if position == index:
                return float(frame.pts * frame.time_base)
    raise AssertionError(f"{path} has no frame {index}")


@pytest.mark.parametrize(
    ("source_kind", "output_ext"),
    [("mp4", ".mp4"), ("mp4", ".mov"), ("mp4", ".mkv"), ("mp4", ".webm"), ("webm", ".mp4"), ("webm", ".mkv")],
)
def test_audio_stays_in_sync_in_every_container(
    tmp_path: Path, starry_night: Path, source_kind: str, output_ext: str
) -> None:
    """A loud burst starts with frame 25 (1.0 s): it must start with that frame's picture.
    AAC copied into Matroska keeps its priming (the video starts after it); Opus gets its
    pre-skip signalled, not played: 6.6 ms late before."""
    codecs = {"mp4": ("libx264", "aac"), "webm": ("libvpx-vp9", "libopus")}[source_kind]
    source = make_clip(
        tmp_path / f"burst.{source_kind}", frames=40, audio_burst_at=1.0, codec=codecs[0], audio=codecs[1]
    )
    output = tmp_path / f"out{output_ext}"
    stylize_video(source, starry_night, output, **{**TINY, "size": 32, "iterations": 2, "frame_iterations": 1})
    from tests.clips import audio_onset

    offset = audio_onset(output) - _shown_at(output, 25)
    assert abs(offset) < 0.002, f"audio {offset * 1000:+.1f} ms off in {output_ext}"


def test_a_video_with_transparency_gets_a_warning(tmp_path: Path, starry_night: Path, caplog) -> None:
    clip = make_clip(tmp_path / "overlay.mov", frames=2, codec="png", pix_fmt="rgba", audio=None)
    with caplog.at_level("WARNING", logger="vidstyle"):
        stylize_video(clip, starry_night, tmp_path / "out.mp4", **TINY)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["overlay.mov has transparency (rgba); the stylized video is opaque"]


def test_hdr_input_gets_a_warning_and_probe_says_so(tmp_path: Path, starry_night: Path, caplog, capsys) -> None:
    clip = make_clip(tmp_path / "hdr.mp4", frames=2, hdr=True, audio=None)
    with caplog.at_level("WARNING", logger="vidstyle"):
        stylize_video(clip, starry_night, tmp_path / "out.mp4", **TINY)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "hdr.mp4 is HDR or wide-gamut (pq, bt2020)" in warnings[0], warnings
    assert main(["probe", str(clip)]) == 0
    assert "pq transfer, bt2020 primaries (HDR)" in capsys.readouterr().out
    caplog.clear()
    with caplog.at_level("WARNING", logger="vidstyle"):
        stylize_video(
            make_clip(tmp_path / "sdr.mp4", frames=2, audio=None), starry_night, tmp_path / "sdr_out.mp4", **TINY
        )
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def _panning(painting: Path, step: int) -> Callable[[int], np.ndarray]:
    picture = resize_frame(read_image(painting), 160, 120)

    def frame(index: int) -> np.ndarray:
        return np.ascontiguousarray(picture[30:78, index * step : index * step + 64])

    return frame


def test_hard_cut_starts_a_new_shot(tmp_path: Path, starry_night: Path, great_wave: Path) -> None:
    # Two shots: panning over one painting, then over another.
    first, second = _panning(starry_night, 2), _panning(great_wave, 3)

    def frame(index: int) -> np.ndarray:
        return first(index) if index < 5 else second(index)

    source = make_clip(tmp_path / "cut.mp4", frames=9, make_frame=frame, audio=None)
    output = tmp_path / "cut_out.mp4"
    report = stylize_video(source, starry_night, output, keep_frames=True, **TINY)
    assert report.cuts == (5,)
    frames = _frames_of(work_dir_for(output))
    # The frame after the cut is exactly what a render starting there makes: no trace of shot one.
    alone = tmp_path / "alone.mp4"
    stylize_video(source, starry_night, alone, start=Fraction(5, 25), keep_frames=True, **TINY)
    fresh = _frames_of(work_dir_for(alone))
    assert np.array_equal(frames[5], fresh[0])
    assert not np.array_equal(frames[4], fresh[0])


@pytest.mark.slow
def test_temporal_consistency_lowers_the_warping_error(tmp_path: Path, starry_night: Path) -> None:
    source = make_clip(tmp_path / "pan.mp4", frames=8, make_frame=moving_texture(64, 48, step=2), audio=None)
    budget = {**TINY, "iterations": 30, "frame_iterations": 15}
    steady = stylize_video(source, starry_night, tmp_path / "steady.mp4", **budget)
    independent = stylize_video(
        source, starry_night, tmp_path / "flicker.mp4", temporal_weight=0.0, temporal_init="content", **budget
    )
    assert steady.mean_warping_error is not None and independent.mean_warping_error is not None
    assert steady.mean_warping_error < independent.mean_warping_error / 3


def test_video_errors_are_one_line(tmp_path: Path, starry_night: Path, capsys) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 50)
    assert main([str(text), "--style", str(starry_night), "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "notes.mp4" in err[0]
    assert main([str(tmp_path / "gone.mp4"), "--style", str(starry_night), "-q"]) == 1
    assert "no such file" in capsys.readouterr().err
    clip = make_clip(tmp_path / "c.mp4", frames=2, audio=None)
    assert main([str(clip), "--style", str(starry_night), "-o", str(tmp_path / "x.gif"), "-q"]) == 1
    assert "unsupported output type" in capsys.readouterr().err


def test_the_api_names_a_url_as_such(starry_night: Path) -> None:
    # As a Path, "rtsp://cam/1" would fold to "rtsp:/cam/1" and be reported as a missing file.
    with pytest.raises(InputFileError, match=r"^rtsp://cam/1: vidstyle takes files on this machine, not URLs"):
        stylize_video("rtsp://cam/1", starry_night)
    with pytest.raises(InputFileError, match=r"^https://a\.org/s\.jpg: vidstyle takes"):
        stylize_video("clip.mp4", "https://a.org/s.jpg")


@pytest.mark.slow
def test_preview_renders_a_short_part_and_its_advice_renders_the_whole(
    tmp_path: Path, starry_night: Path, capsys
) -> None:
    clip = make_clip(tmp_path / "long.mp4", frames=12, rate=Fraction(25), audio=None)
    preview_args = [str(clip), "--style", str(starry_night), "--preview", "--duration", "0.2", *TINY_ARGS]
    assert main(preview_args) == 0
    out = capsys.readouterr().out
    preview = clip.with_name("long.starry_night.preview.mp4")
    full = clip.with_name("long.starry_night.mp4")
    assert len(list(read_frames(preview))) == 5 and not full.exists()
    assert re.search(r"full render estimate: 12 frames painted at 64x48, about .+ \([\d.]+ s/frame\)", out), out
    advice = re.search(r"To render it: (.+)\n", out)
    assert advice, out
    command = shlex.split(advice.group(1))
    assert command == ["vidstyle", str(clip), "--style", str(starry_night), *TINY_ARGS]
    # The advice renders the whole video to the full output, and leaves the preview be.
    assert main([*command[1:], "-q"]) == 0
    assert len(list(read_frames(full))) == 12 and len(list(read_frames(preview))) == 5
    capsys.readouterr()
    # A preview again replaces its own earlier preview without -y ...
    assert main([*preview_args, "--duration", "0.12"]) == 0
    assert len(list(read_frames(preview))) == 3
    # ... and its advice never carries -o or -y: it would replace a finished render, or the preview.
    other = tmp_path / "final.mp4"
    assert main([*preview_args, "-o", str(other), "-qy"]) == 0
    capsys.readouterr()
    assert main([*preview_args, "-y", "--output", str(other), "--frames", "2"]) == 0
    advice = re.search(r"To render it: (.+)\n", capsys.readouterr().out)
    assert advice and shlex.split(advice.group(1))[1:] == [str(clip), "--style", str(starry_night), *TINY_ARGS]


def test_the_estimate_counts_first_and_later_frames_at_the_measured_step() -> None:
    job = build_job(["s.jpg"], iterations=200, frame_iterations=50, scales=2)
    preview_job = build_job(["s.jpg"], quality="preview", frame_iterations=20)
    # A preview of 10 frames in one shot, whose later frames stopped after 10 of their 20 iterations.
    preview = VideoReport(
        output=Path("p.mp4"), width=64, height=48, painted_width=64, painted_height=48, frames=10, rendered=10,
        resumed_from=0, cuts=(), seconds=1.0,
        render_seconds=1.0, mean_iterations=0.0, mean_later_iterations=10.0, mean_warping_error=None,
        mean_style_loss=0.0, mean_content_loss=0.0,
    )  # fmt: skip
    estimate = estimate_full_render(job, preview_job, preview, 60, 256, 192, step_seconds=0.01)
    # Shots as frequent as in the preview: 6. A first frame: 200 steps at half size (a quarter
    # of the pixels each) and 100 at full size; a later one half its 50, as in the preview.
    assert estimate.seconds == pytest.approx((6 * (200 * 0.25 + 100) + 54 * 25) * 0.01)
    assert estimate.seconds_per_frame == pytest.approx(estimate.seconds / 60)
    # At 128x96 the half size (64x48) is too small for relu5_1, and the render paints the
    # first frame at full size alone: the estimate counts what the render does.
    small = estimate_full_render(job, preview_job, preview, 60, 128, 96, step_seconds=0.01)
    assert small.seconds == pytest.approx((6 * 200 + 54 * 25) * 0.01)


def test_a_render_leaves_the_thread_settings_as_it_found_them(clip: Path, starry_night: Path, tmp_path: Path) -> None:
    import cv2
    import torch

    torch_threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(3)
    try:
        stylize_video(clip, starry_night, tmp_path / "out.mp4", **{**TINY, "frames": 3})
        assert (torch.get_num_threads(), cv2.getNumThreads()) == (1, 3)
    finally:
        torch.set_num_threads(torch_threads)
        cv2.setNumThreads(cv2_threads)
