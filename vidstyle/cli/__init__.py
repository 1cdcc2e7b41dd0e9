"""Command line: argparse -> settings -> pipeline. The only package that prints or exits.

One module a command (``render`` for videos and images, ``try``'s ``sheet``, ``studio``,
``probe``, ``peek``, ``metrics``), the parser (``parser``), the progress bars and log
(``progress``), and what is said when a render stops (``messages``). The modules that do the
work (torch, OpenCV, PyAV) are imported where work starts, so that --help and a usage error
answer at once.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import NoReturn

from vidstyle.cli.messages import interrupt_on_termination, is_out_of_memory
from vidstyle.cli.metrics import run_metrics
from vidstyle.cli.parser import PROG, build_parser
from vidstyle.cli.peek import run_peek
from vidstyle.cli.probe import run_probe
from vidstyle.cli.progress import setup_logging
from vidstyle.cli.render import run_image, run_video
from vidstyle.cli.sheet import run_try
from vidstyle.cli.studio import run_studio
from vidstyle.errors import DeviceError, VidstyleError
from vidstyle.filetypes import is_image_path
from vidstyle.options import RENAMED_OPTIONS, refuse_video_options, renamed_option_error


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "probe":
        return run_probe(argv[1:])
    if argv and argv[0] == "metrics":
        return run_metrics(argv[1:])
    if argv and argv[0] == "peek":
        return run_peek(argv[1:])
    if argv and argv[0] == "try":
        return run_try(argv[1:])
    if argv and argv[0] == "studio":
        return run_studio(argv[1:])
    args = build_parser().parse_args(argv)
    for old in RENAMED_OPTIONS:
        if getattr(args, f"renamed_{old}") is not None:
            raise renamed_option_error(old)
    setup_logging(args.verbose, args.quiet)
    if is_image_path(args.input):
        refuse_video_options(vars(args))
        return run_image(args)
    return run_video(args, argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vidstyle`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    started = time.monotonic()
    try:
        return _dispatch(argv)
    except SystemExit as exit_request:  # argparse after --help, --version or a usage error
        return exit_request.code if isinstance(exit_request.code, int) else 0
    except VidstyleError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted after {time.monotonic() - started:.0f} s", file=sys.stderr)
        return 130
    except Exception as error:
        if is_out_of_memory(error):
            error = DeviceError("the device ran out of memory; try a smaller --size")
            print(f"{PROG}: error: {error}", file=sys.stderr)
            return 1
        if debug:
            raise
        print(
            f"{PROG}: internal error: {type(error).__name__}: {error} (rerun with --debug for details)", file=sys.stderr
        )
        return 1


def main_exit() -> NoReturn:
    """Console-script wrapper: exit with ``main``'s code."""
    interrupt_on_termination()
    sys.exit(main())
