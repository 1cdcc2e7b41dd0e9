"""``vidstyle studio``: a real studio process, asked as the page asks it.

Nobody else gets in (the token, the loopback, the host name), nothing else gets out (paths
confined to its folder, uploads limited and checked), bad input gets one line and the studio
goes on, and a render it started and Ctrl-C stopped resumes from the command line to the
frames of a render that never stopped.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.clips import make_clip, saved_frames
from tests.conftest import SAMPLES, TINY_ARGS
from tests.studio_server import RunningStudio, running_studio
from vidstyle.cli import main
from vidstyle.errors import UsageError
from vidstyle.journal import LOG_NAME
from vidstyle.studio.folder import OutsideFolderError, StudioFolder
from vidstyle.studio.render_request import extra_arguments, option_arguments, render_request
from vidstyle.studio.renders import RenderQueue
from vidstyle.workdir import work_dir_for

FRAMES = 24
STYLE = "samples/starry_night.jpg"


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("studio")
    make_clip(root / "clip.mp4", frames=FRAMES, rate=Fraction(25), audio=None)
    (root / "notes.mp4").write_text("not a video\n")
    (root / "inside.jpg").write_bytes((SAMPLES / "great_wave.jpg").read_bytes())
    outside = tmp_path_factory.mktemp("outside") / "secret.jpg"
    outside.write_bytes((SAMPLES / "great_wave.jpg").read_bytes())
    (root / "link.jpg").symlink_to(outside)
    return root


@pytest.fixture(scope="module")
def studio(root: Path):
    with running_studio(root, "--upload-limit", "1") as studio:
        yield studio


def test_every_request_needs_the_token(studio: RunningStudio) -> None:
    assert studio.call("/api/files")[0] == 200
    for path in ("/", "/api/files", "/api/renders", "/file"):
        status, answer = studio.call(path, {"name": "clip.mp4"}, token="")
        assert status == 403 and "token" in answer["error"]
        assert studio.call(path, {"name": "clip.mp4"}, token=studio.token[:-1] + "x")[0] == 403
    assert studio.call("/api/renders", body={"clip": "clip.mp4", "styles": [STYLE]}, token="")[0] == 403
    assert studio.renders() == []  # the refused render was not queued
    # A page on another site that points its own host name at 127.0.0.1 (DNS rebinding).
    assert studio.call("/api/files", headers={"Host": "evil.example:80"})[0] == 403


def test_the_studio_answers_on_the_loopback_only(studio: RunningStudio) -> None:
    assert studio.url.startswith("http://127.0.0.1:")
    port = int(studio.base.rsplit(":", 1)[1])
    sockets = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    listening = [fields[1] for fields in sockets if fields[3] == "0A" and fields[1].endswith(f":{port:04X}")]
    assert listening == [f"0100007F:{port:04X}"]  # 127.0.0.1, not 0.0.0.0


@pytest.mark.parametrize("name", ["../outside/secret.jpg", "/etc/passwd", "link.jpg", "a/../../x.jpg"])
def test_no_path_leads_out_of_the_folder(studio: RunningStudio, root: Path, name: str) -> None:
    status, answer = studio.call("/file", {"name": name})
    assert status == 400 and "folder" in answer["error"]
    status, answer = studio.call("/api/try", body={"clip": "clip.mp4", "style": name})
    assert status == 400 and "folder" in answer["error"]
    status, answer = studio.call("/api/renders", body={"clip": name, "styles": [STYLE]})
    assert status == 400 and "folder" in answer["error"]
    assert studio.call("/file", {"name": "inside.jpg"})[0] == 200  # a file inside is served


def test_only_pictures_and_videos_are_served(studio: RunningStudio, root: Path) -> None:
    (root / "evil.html").write_text("<script>fetch('/api/renders')</script>")
    status, answer = studio.call("/file", {"name": "evil.html"})
    assert status == 400 and "pictures and videos only" in answer["error"]
    status, picture = studio.call("/file", {"name": "inside.jpg"})
    assert status == 200 and picture == (root / "inside.jpg").read_bytes()


def test_the_folder_resolves_before_it_compares(root: Path) -> None:
    folder = StudioFolder.at(root)
    assert folder.resolve("inside.jpg") == (root / "inside.jpg").resolve()
    assert folder.resolve(STYLE, readable_sample=True) == (SAMPLES / "starry_night.jpg").resolve()
    for name in ("link.jpg", "../x", "/tmp/x", "sub/../../x", "samples/../../x"):
        with pytest.raises(OutsideFolderError):
            folder.resolve(name, readable_sample=True)
    # A sample is read, never written: where a render may write, the name means the folder's own.
    assert folder.resolve(STYLE) == root.resolve() / STYLE


def test_an_oversized_upload_is_refused_and_nothing_kept(studio: RunningStudio, root: Path) -> None:
    status, answer = studio.call("/api/upload", {"name": "big.mp4"}, body=os.urandom((1 << 20) + 1))
    assert status == 400 and "up to 1 MB" in answer["error"]
    assert not (root / "uploads" / "big.mp4").exists()


def test_an_upload_is_kept_under_a_name_of_its_own(studio: RunningStudio, root: Path) -> None:
    picture = (SAMPLES / "starry_night.jpg").read_bytes()
    names = [studio.call("/api/upload", {"name": "../../evil/Starry night.jpg"}, body=picture) for _ in range(2)]
    assert [status for status, _ in names] == [200, 200]
    assert [answer["name"] for _, answer in names] == ["uploads/Starry_night.jpg", "uploads/Starry_night-2.jpg"]
    assert (root / "uploads" / "Starry_night.jpg").read_bytes() == picture
    assert "uploads/Starry_night.jpg" in studio.call("/api/files")[1]["styles"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_gets_one_line_and_leaves_nothing(studio: RunningStudio, root: Path) -> None:
    # The upload's partial file leads to /dev/full, where every write fails as on a full disk
    # (ENOSPC, from the kernel).
    uploads = root / "uploads"
    uploads.mkdir(exist_ok=True)
    (uploads / ".full.jpg.part").symlink_to("/dev/full")
    status, answer = studio.call("/api/upload", {"name": "full.jpg"}, body=(SAMPLES / "great_wave.jpg").read_bytes())
    assert (status, answer["error"]) == (507, "the disk is full")
    assert not (uploads / "full.jpg").exists() and not (uploads / ".full.jpg.part").exists()
    assert studio.call("/api/files")[0] == 200


def test_bad_input_gets_one_line_and_the_studio_goes_on(studio: RunningStudio, root: Path) -> None:
    status, answer = studio.call("/api/upload", {"name": "notes.mp4"}, body=b"not a video\n")
    assert status == 400 and "not a video or image vidstyle can read" in answer["error"]
    assert not (root / "uploads" / "notes.mp4").exists()
    for path, body in [
        ("/api/try", {"clip": "notes.mp4", "style": STYLE, "options": {"size": 64}}),
        ("/api/try", {"clip": "clip.mp4", "style": "notes.mp4", "options": {"size": 64}}),
        ("/api/try", {"clip": "clip.mp4", "style": STYLE, "options": {"size": "huge"}}),
        ("/api/try", {"clip": "clip.mp4", "style": STYLE, "options": {"passes": 2}}),
        ("/api/renders", {"clip": "notes.mp4", "styles": [STYLE]}),
        ("/api/renders", {"clip": "clip.mp4", "styles": [STYLE], "extra": "--output /tmp/x.mp4"}),
        ("/api/renders", {"clip": "clip.mp4", "styles": [STYLE], "extra": "--ray auto"}),
        ("/api/renders", {"clip": "clip.mp4", "styles": [STYLE], "extra": "--passes many"}),
    ]:
        status, answer = studio.call(path, body=body)
        assert status == 400, (body, answer)
        assert "\n" not in answer["error"] and "Traceback" not in answer["error"], answer
    assert studio.call("/api/clip", {"name": "notes.mp4"})[0] == 400
    assert studio.call("/api/files")[0] == 200 and studio.renders() == []


def test_the_page_takes_options_as_the_command_line_does(root: Path) -> None:
    folder = StudioFolder.at(root)
    assert extra_arguments("--passes 2 --duration 1:20") == ["--passes", "2", "--duration", "1:20"]
    assert extra_arguments("--size=64") == ["--size=64"]
    for refused in ("-o x.mp4", "--init a.png", "--ray auto", "-y", "--style a.jpg", "--output=x.mp4"):
        with pytest.raises(UsageError, match="does not take"):
            extra_arguments(refused)
    # A value is one argument, and may not smuggle a flag in.
    assert option_arguments({"style_weights": [0.7, 0.3], "size": 64}) == [
        "--style-weights",
        "0.7",
        "0.3",
        "--size",
        "64",
    ]
    assert option_arguments({"size": "64 --init x.png"}) == ["--size", "64 --init x.png"]  # the parser's to refuse
    for options in ({"size": "--init"}, {"init": "x.png"}, {"ray": "auto"}):
        with pytest.raises(UsageError, match="does not take"):
            option_arguments(options)
    request = render_request(
        folder, "clip.mp4", [STYLE], {"size": 64, "preserve_colors": True}, preview=False, output=root / "o.mp4"
    )
    style = str((SAMPLES / "starry_night.jpg").resolve())
    expected = ["clip.mp4", "--style", style, "--size", "64", "--preserve-colors", "--output", "o.mp4"]
    assert list(request.arguments) == expected
    assert request.command == "vidstyle " + shlex.join(expected)


def test_a_text_file_named_mp4_is_listed_but_refused_on_use(studio: RunningStudio) -> None:
    files = studio.call("/api/files")[1]
    assert "clip.mp4" in files["clips"] and STYLE in files["styles"]
    assert "inside.jpg" in files["styles"] and "link.jpg" not in files["styles"]  # a link out is not offered


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_render_stopped_with_the_studio_resumes_from_the_command_line(root: Path, tmp_path: Path) -> None:
    """Started in the page, stopped midway by Ctrl-C on the studio, resumed by the command
    the page shows: the frames of a render that never stopped."""
    clip = root / "clip.mp4"
    whole = tmp_path / "whole.mp4"
    args = [*TINY_ARGS, "--threads", "1", "--keep-frames"]
    assert main([str(clip), "--style", str(SAMPLES / "starry_night.jpg"), *args, "-o", str(whole), "-q"]) == 0
    with running_studio(root) as studio:
        body = {"clip": "clip.mp4", "styles": [STYLE], "extra": shlex.join(args)}
        status, render = studio.call("/api/renders", body=body)
        assert status == 200, render
        output = root / render["output"]
        studio.wait_for(lambda renders: (renders[0]["status"] or {}).get("visits_done", 0) >= 4)
        said = studio.stop()
    work = work_dir_for(output)
    assert not output.exists() and work.is_dir()
    done = len({line for line in (work / LOG_NAME).read_text().splitlines()})
    assert 4 <= done < FRAMES, "the studio stopped too late to stop the render midway"
    assert f"stopped, to resume with `vidstyle studio` or in {root}: {render['command']}" in said
    with running_studio(root) as again:  # a studio started again lists it, stopped
        assert [(r["id"], r["state"]) for r in again.renders()] == [(render["id"], "stopped")]
    command = shlex.split(render["command"])
    assert command[0] == "vidstyle"
    cwd = Path.cwd()
    try:
        os.chdir(root)
        assert main([*command[1:], "-q"]) == 0
    finally:
        os.chdir(cwd)
    for resumed, uninterrupted in zip(saved_frames(output, FRAMES), saved_frames(whole, FRAMES), strict=True):
        np.testing.assert_array_equal(resumed, uninterrupted)
    shutil.rmtree(work_dir_for(output))  # as a render without --keep-frames leaves it
    with running_studio(root) as again:  # the command line finished it: the page says so
        assert [(r["id"], r["state"], r["finished"]) for r in again.renders()] == [(render["id"], "finished", True)]


@pytest.mark.slow
def test_renders_run_one_at_a_time_and_a_preview_says_its_estimate(tmp_path: Path) -> None:
    make_clip(tmp_path / "clip.mp4", frames=FRAMES, rate=Fraction(25), audio=None)
    with running_studio(tmp_path) as studio:
        tiny = shlex.join([*TINY_ARGS, "--threads", "1", "--detail", "off"])
        first = studio.call("/api/renders", body={"clip": "clip.mp4", "styles": [STYLE], "extra": tiny})[1]
        again = studio.call("/api/renders", body={"clip": "clip.mp4", "styles": [STYLE], "extra": tiny})
        assert again[0] == 400 and "already in the list" in again[1]["error"]
        body = {"clip": "clip.mp4", "styles": [STYLE], "preview": True, "extra": "--size 64 --frames 6 --detail off"}
        preview = studio.call("/api/renders", body=body)[1]
        assert preview["output"].startswith(".vidstyle-studio/previews/clip.")
        states = {render["id"]: render["state"] for render in studio.renders()}
        assert states[preview["id"]] == "queued" and states[first["id"]] in ("queued", "running")
        seen = studio.wait_for(lambda renders: all(r["state"] in ("running", "finished") for r in renders))
        assert [r["state"] for r in seen].count("running") <= 1
        done = studio.wait_for(lambda renders: all(r["state"] == "finished" for r in renders))
        shown = {render["id"]: render for render in done}
        assert shown[preview["id"]]["estimate"].startswith(f"full render estimate: {FRAMES} frames painted at 64x48")
        assert (tmp_path / shown[first["id"]]["output"]).is_file()
        assert studio.call("/file", {"name": shown[preview["id"]]["output"]})[1][4:8] == b"ftyp"
        again = studio.call("/api/renders", body={"clip": "clip.mp4", "styles": [STYLE], "extra": tiny})
        assert again[0] == 400 and "exists" in again[1]["error"]  # the finished file is not replaced


def test_a_studio_that_did_nothing_leaves_nothing(tmp_path: Path) -> None:
    with running_studio(tmp_path) as studio:
        assert studio.call("/api/files")[1]["clips"] == []
    assert list(tmp_path.iterdir()) == []


def test_a_render_that_cannot_start_fails_with_its_reason_and_the_queue_goes_on(tmp_path: Path) -> None:
    make_clip(tmp_path / "clip.mp4", frames=4, rate=Fraction(25), audio=None)
    folder = StudioFolder.at(tmp_path)
    queue = RenderQueue(folder, program=(str(tmp_path / "no-such-python"),))
    queue.start()
    try:
        requests = [
            render_request(folder, "clip.mp4", [STYLE], {}, preview=False, output=tmp_path / f"{name}.mp4")
            for name in ("a", "b")
        ]
        renders = [queue.add(request) for request in requests]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(render.state != "failed" for render in renders):
            time.sleep(0.05)
    finally:
        queue.close()
    assert [render.state for render in renders] == ["failed", "failed"]
    assert renders[0].message.startswith("the render could not start: [Errno 2] No such file or directory")


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--port", "99999"], "argument --port: give a whole number from 0 to 65535"),
        (["--upload-limit", "0"], "argument --upload-limit: give a whole number from 1"),
        (["--root", "/no/such/folder"], "/no/such/folder: no such folder"),
    ],
)
def test_bad_studio_options_get_one_line(arguments: list[str], said: str, capsys) -> None:
    assert main(["studio", "--no-browser", *arguments]) in (1, 2)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0]


def test_the_studio_serves_on_the_port_asked(tmp_path: Path, capsys) -> None:
    with socket.socket() as probe:  # a port free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with running_studio(tmp_path, "--port", str(port)) as studio:
        assert studio.url.startswith(f"http://127.0.0.1:{port}/?token=")
        assert studio.call("/")[0] == 200
        # A second studio on the same port: one line, no traceback.
        assert main(["studio", "--no-browser", "--root", str(tmp_path), "--port", str(port)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"cannot serve on port {port}: Address already in use" in err[0]
