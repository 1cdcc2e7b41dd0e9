"""The studio in a real browser: headless Chromium (Debian's package, which `.ci/run` installs)
driven by Playwright. It uploads a style (and is told a file over the limit is too large),
tries two styles on a frame of samples/pens.mp4, starts a tiny render,
sees its progress, stops and resumes it, and plays the finished video. Set
VIDSTYLE_SCREENSHOTS=docs to write the screenshots there, where the README shows one."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES
from tests.studio_server import RunningStudio, running_studio

CHROMIUM = Path("/usr/bin/chromium")
# Chromium as the machine's probe starts it: no sandbox (root), and none of the background
# connections a closed network refuses.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow

_LATEST_SHOWN = (
    "document.querySelector('.render img.latest') && document.querySelector('.render img.latest').naturalWidth"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else None
    if playwright_api is None:
        import playwright.sync_api as playwright_api  # in CI, a missing browser is a failure, not a skip
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            raise AssertionError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def _shot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"studio.{name}.jpg"
    page.screenshot(path=str(path), full_page=True, type="jpeg", quality=80)
    keep = os.environ.get("VIDSTYLE_SCREENSHOTS")
    if keep:
        shutil.copy(path, Path(keep) / path.name)
    return path


def test_try_two_styles_then_render_and_watch(browser: Any, tmp_path: Path) -> None:
    root = tmp_path / "folder"
    root.mkdir()
    shutil.copy(SAMPLES / "pens.mp4", root / "pens.mp4")
    with running_studio(root, "--upload-limit", "1") as studio:
        # The page forbids eval (its CSP); the test's own checks use it.
        page = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)
        page.goto(studio.url)
        page.wait_for_selector("#clip option[value='pens.mp4']", state="attached")
        page.wait_for_function("document.querySelector('#frame').naturalWidth > 0")
        # A style sent from the page: kept in uploads/ under a plain name, listed and chosen.
        wave = tmp_path / "my wave.jpg"
        shutil.copy(SAMPLES / "great_wave.jpg", wave)
        page.set_input_files("#upload-style", str(wave))
        page.wait_for_selector("#styles input[value='uploads/my_wave.jpg']:checked", state="attached")
        assert (root / "uploads" / "my_wave.jpg").read_bytes() == wave.read_bytes()
        big = tmp_path / "big.mp4"
        big.write_bytes(bytes((1 << 20) + 1))
        page.set_input_files("#upload-clip", str(big))  # over --upload-limit: said on the page, nothing sent
        page.wait_for_function("document.querySelector('#message').textContent.includes('up to 1 MB')")
        assert not (root / "uploads" / "big.mp4").exists()
        page.uncheck("#styles input[value='uploads/my_wave.jpg']")
        for style in ("samples/starry_night.jpg", "samples/great_wave.jpg"):
            page.check(f"#styles input[value='{style}']")
        page.fill("#size", "96")
        page.click("#try")
        page.wait_for_function(
            "[...document.querySelectorAll('#panels img')].filter(img => img.naturalWidth).length === 3",
            timeout=240_000,
        )
        captions = page.eval_on_selector_all("#panels figcaption", "all => all.map(c => c.textContent)")
        assert captions == ["the frame at 1.07 s", "great_wave.jpg", "starry_night.jpg"]  # side by side
        sizes = page.eval_on_selector_all("#panels img", "all => all.map(i => [i.naturalWidth, i.naturalHeight])")
        assert sizes[1] == sizes[2] == [79, 96]  # painted at --size 96
        assert "2 styles in" in page.inner_text("#busy")
        _shot(page, tmp_path, "sheet")

        page.uncheck("#styles input[value='samples/great_wave.jpg']")
        page.fill("#size", "")
        # A few tenths of a second a frame: time to stop it midway, and to see it come in.
        tiny = ["--size", "64", "--iterations", "6", "--frame-iterations", "8", "--scales", "1", "--tolerance", "0"]
        tiny += ["--threads", "1", "--frames", "40", "--detail", "off"]
        page.fill("#extra", " ".join(tiny))
        page.click("#render")
        page.wait_for_function(_LATEST_SHOWN, timeout=120_000)
        page.click(".render button:text('Stop')")  # at once: the render is a few frames in
        page.wait_for_selector(".render .state.stopped", timeout=60_000)
        stopped_at = studio.renders()[0]["status"]["visits_done"]
        assert 0 < stopped_at < 40, "stopped too late to see a stop"
        page.click(".render button:text('Resume')")
        page.wait_for_selector(".render .state.running", timeout=60_000)
        page.wait_for_function(_LATEST_SHOWN, timeout=120_000)
        assert "frames painted" in page.inner_text(".render .progress-line")
        _shot(page, tmp_path, "rendering")

        page.wait_for_selector(".render video", timeout=240_000)
        page.wait_for_function("document.querySelector('.render video').readyState >= 2", timeout=60_000)
        duration = page.eval_on_selector(".render video", "video => video.duration")
        assert 1.0 < duration < 1.6  # 40 frames of a clip at 29.5 frames a second on average
        assert page.is_visible("text=Download pens.starry_night.mp4")
        _shot(page, tmp_path, "finished")
        assert _finished(studio) == ["pens.starry_night.mp4"]
        assert page.inner_text("#message") == ""


def _finished(studio: RunningStudio) -> list[str]:
    return [render["output"] for render in studio.renders() if render["finished"]]
