"""``vidstyle studio``: the page's address on the first line, then serve until Ctrl-C."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import webbrowser
from collections.abc import Sequence

from vidstyle.cli.parser import PROG, build_studio_parser
from vidstyle.cli.progress import setup_logging
from vidstyle.errors import UsageError


def run_studio(argv: Sequence[str]) -> int:
    args = build_studio_parser().parse_args(argv)
    setup_logging(verbose=False, quiet=False)
    from vidstyle.studio.folder import StudioFolder
    from vidstyle.studio.pictures import tries_folder
    from vidstyle.studio.renders import RenderQueue
    from vidstyle.studio.server import Studio, StudioServer

    folder = StudioFolder.at(args.root)
    shutil.rmtree(tries_folder(folder), ignore_errors=True)  # an earlier studio's, shown by no page now
    queue = RenderQueue(folder)
    studio = Studio(folder, secrets.token_urlsafe(18), queue, args.upload_limit << 20)
    try:
        server = StudioServer(studio, args.port)
    except OSError as error:
        raise UsageError(f"cannot serve on port {args.port}: {error.strerror or error}") from None
    print(server.url, flush=True)  # the first line: the address, token included
    queue.start()
    print(f"serving {folder.root} on this computer only; Ctrl-C stops the studio and its renders", flush=True)
    if not args.no_browser and _has_a_screen():
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print(f"\n{PROG} studio: stopping", file=sys.stderr, flush=True)
    finally:
        server.server_close()
        stopped = queue.close()
    for render in stopped:
        print(f"stopped, to resume with `{PROG} studio` or in {folder.root}: {render.request.command}", flush=True)
    return 0


def _has_a_screen() -> bool:
    """Whether a browser would open in a window: without one, Python's ``webbrowser`` may run a
    text browser in this very terminal, over the studio's lines."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
