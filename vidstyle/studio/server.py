"""The studio's server: one page and the calls it makes, on the loopback only.

The standard library's threaded HTTP server: the page is one file of HTML and script, and
its calls are a dozen small JSON answers, so a framework would add hundreds of megabytes and
seconds of start for what a page this size does by hand (the measures are in the note of the
issue that chose it). Every request carries the token printed with the address, checked in
constant time; a request for another host name (a DNS rebinding page) is refused as well.
"""

from __future__ import annotations

import errno
import hmac
import json
import mimetypes
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from vidstyle.errors import InputFileError, UsageError, VidstyleError
from vidstyle.options import PRESETS
from vidstyle.studio import pictures
from vidstyle.studio.folder import StudioFolder, is_media
from vidstyle.studio.render_request import default_output, render_request
from vidstyle.studio.renders import RenderQueue
from vidstyle.studio.try_request import try_options
from vidstyle.studio.uploads import save_upload

HOST = "127.0.0.1"
_JSON_LIMIT = 64 * 1024
_CHUNK = 1 << 20


@dataclass
class Studio:
    """What the server answers from: the folder, the token, the render queue, the upload limit."""

    folder: StudioFolder
    token: str
    queue: RenderQueue
    upload_limit: int  # bytes


class StudioServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, studio: Studio, port: int) -> None:
        super().__init__((HOST, port), _Handler)
        self.studio = studio

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/?token={self.studio.token}"


class _Handler(BaseHTTPRequestHandler):
    server: StudioServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the terminal shows the studio's lines only
        pass

    def do_GET(self) -> None:
        self._answer("GET")

    def do_HEAD(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        route = _ROUTES.get((method, url.path))
        # A body left unread would be read as the next request on this connection: the JSON
        # calls' bodies are read here, and a connection whose body is left unread (an upload,
        # a refused request) is closed.
        if not self._allowed():
            self.close_connection = True
            self._send_json({"error": "refused: open the address the studio printed (it carries the token)"}, 403)
            return
        self.close_connection = self.close_connection or route is _Handler.upload
        self.body = b"" if route is _Handler.upload else self._read_body()
        if route is None:
            self._send_json({"error": f"no such page: {url.path}"}, 404)
            return
        try:
            route(self)
        except VidstyleError as error:
            self._send_json({"error": str(error)}, 400)
        except OSError as error:
            disk = error.errno in (errno.ENOSPC, errno.EDQUOT)
            self._send_json({"error": "the disk is full" if disk else f"cannot do that: {error}"}, 507 if disk else 400)
        except Exception as error:  # the studio keeps serving: the page says what went wrong
            self._send_json({"error": f"internal error: {type(error).__name__}: {error}"}, 500)

    def _allowed(self) -> bool:
        token = self.query.get("token") or self.headers.get("X-Vidstyle-Token") or ""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        return host in (HOST, "localhost") and hmac.compare_digest(token.encode(), self.server.studio.token.encode())

    @property
    def studio(self) -> Studio:
        return self.server.studio

    def _send(self, body: bytes, content_type: str, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")  # the token stays out of other sites' logs
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, data: object, status: int = 200) -> None:
        self._send(json.dumps(data).encode(), "application/json", status)

    def _length(self) -> int:
        """The body's length (-1: not given, or not a number)."""
        text = self.headers.get("Content-Length") or ""
        return int(text) if text.isdigit() else -1

    def _read_body(self) -> bytes:
        length = max(0, self._length())
        if length > _JSON_LIMIT:
            self.close_connection = True
            return b""
        return self.rfile.read(length)

    def _json_body(self) -> dict[str, Any]:
        if self._length() > _JSON_LIMIT:
            raise UsageError("the request is too large")
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            raise UsageError("the request is not JSON") from None
        if not isinstance(data, dict):
            raise UsageError("the request is not a JSON object")
        return data

    def _name(self, key: str = "name") -> str:
        if key not in self.query:
            raise UsageError(f"the request names no {key}")
        return self.query[key]

    # The routes.

    def page(self) -> None:
        body = resources.files("vidstyle.studio").joinpath("page.html").read_bytes()
        policy = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'"
        self._send(body, "text/html; charset=utf-8", headers={"Content-Security-Policy": policy})

    def files(self) -> None:
        clips, styles = self.studio.folder.listing()
        self._send_json(
            {
                "root": str(self.studio.folder.root),
                "clips": clips,
                "styles": styles,
                "presets": list(PRESETS),
                "upload_limit": self.studio.upload_limit,
            }
        )

    def clip(self) -> None:
        self._send_json(pictures.clip_facts(self.studio.folder.resolve(self._name())))

    def frame(self) -> None:
        at = Fraction(self.query.get("t", "0")).limit_denominator(1_000_000)
        self._send(pictures.frame_jpeg(self.studio.folder.resolve(self._name()), at), "image/jpeg")

    def try_style(self) -> None:
        """The frame painted in one style (the page asks style by style, showing each as it comes)."""
        body = self._json_body()
        folder = self.studio.folder
        clip = folder.resolve(str(body.get("clip", "")))
        style = folder.resolve(str(body.get("style", "")), readable_sample=True)
        at = Fraction(str(body.get("at", 0))).limit_denominator(1_000_000)
        started = time.monotonic()
        panel = pictures.paint_panel(folder, clip, style, at, try_options(body.get("options") or {}))
        self._send_json(
            {
                "panel": folder.name_of(panel.path),
                "width": panel.width,
                "height": panel.height,
                "time": float(panel.time),
                "seconds": round(time.monotonic() - started, 2),
            }
        )

    def upload(self) -> None:
        saved = save_upload(self.studio.folder, self._name(), self.rfile, self._length(), self.studio.upload_limit)
        self._send_json({"name": self.studio.folder.name_of(saved)})

    def renders(self) -> None:
        self._send_json({"renders": self.studio.queue.listing()})

    def add_render(self) -> None:
        body = self._json_body()
        folder, queue = self.studio.folder, self.studio.queue
        clip, styles = str(body.get("clip", "")), [str(style) for style in body.get("styles") or []]
        preview = bool(body.get("preview"))
        options = dict(body.get("options") or {})
        output = _preview_output(folder, clip) if preview else default_output(folder, clip, styles)
        extra = str(body.get("extra") or "")
        render = queue.add(render_request(folder, clip, styles, options, preview=preview, output=output, extra=extra))
        self._send_json(render.to_json(folder))

    def stop(self) -> None:
        self.studio.queue.stop(self._name("id"))
        self.renders()

    def resume(self) -> None:
        self.studio.queue.resume(self._name("id"))
        self.renders()

    def latest(self) -> None:
        render = self.studio.queue.renders.get(self._name("id"))
        if render is None:
            raise UsageError("no such render")
        source = self.studio.folder.resolve(render.request.clip)
        jpeg = pictures.latest_pair_jpeg(render.request.output, source, int(self.query.get("index", "0")))
        self._send(jpeg, "image/jpeg")

    def file(self) -> None:
        path = self.studio.folder.resolve(self._name(), readable_sample=True)
        if not path.is_file():
            raise InputFileError(f"{self._name()}: no such file")
        if not is_media(path):  # an HTML file in the folder, served from here, would run with the page's rights
            raise InputFileError(f"{self._name()}: the studio serves pictures and videos only")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = {"Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
        if self.query.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="{_safe_header(path.name)}"'
        self._send_file(path, content_type, headers)

    def _send_file(self, path: Path, content_type: str, headers: dict[str, str]) -> None:
        """The file, or the byte range asked for (a video player seeks with ranges)."""
        size = path.stat().st_size
        start, stop, status = 0, size, 200
        found = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range") or "")
        if found and size and (found[1] or found[2]):
            start = int(found[1]) if found[1] else max(0, size - int(found[2]))
            stop = min(size, int(found[2]) + 1) if found[1] and found[2] else size
            if start >= size or start >= stop:
                self._send(b"", content_type, 416, {"Content-Range": f"bytes */{size}"})
                return
            status = 206
            headers = {**headers, "Content-Range": f"bytes {start}-{stop - 1}/{size}"}
        self.send_response(status)
        for name, value in {"Content-Type": content_type, "Content-Length": str(stop - start), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        with path.open("rb") as file:
            file.seek(start)
            left = stop - start
            while left > 0:
                chunk = file.read(min(_CHUNK, left))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)


def _preview_output(folder: StudioFolder, clip: str) -> Path:
    """A preview of its own in the studio's folder: a new preview never replaces a file."""
    previews = folder.state / "previews"
    previews.mkdir(parents=True, exist_ok=True)
    return previews / f"{Path(clip).stem}.{uuid.uuid4().hex[:8]}.preview.mp4"


def _safe_header(name: str) -> str:
    return re.sub(r"[^\w .+-]", "_", name)


_ROUTES: dict[tuple[str, str], Callable[[_Handler], None]] = {
    ("GET", "/"): _Handler.page,
    ("GET", "/api/files"): _Handler.files,
    ("GET", "/api/clip"): _Handler.clip,
    ("GET", "/api/frame"): _Handler.frame,
    ("POST", "/api/try"): _Handler.try_style,
    ("POST", "/api/upload"): _Handler.upload,
    ("GET", "/api/renders"): _Handler.renders,
    ("POST", "/api/renders"): _Handler.add_render,
    ("POST", "/api/stop"): _Handler.stop,
    ("POST", "/api/resume"): _Handler.resume,
    ("GET", "/api/latest"): _Handler.latest,
    ("GET", "/file"): _Handler.file,
}
