"""``vidstyle peek``: the frames a render has finished so far."""

from __future__ import annotations

from collections.abc import Sequence

from vidstyle.cli.parser import build_peek_parser


def run_peek(argv: Sequence[str]) -> int:
    args = build_peek_parser().parse_args(argv)
    from vidstyle.peek import peek

    report = peek(args.output)
    share = f"{report.frames / report.total:.0%}"
    print(f"{report.path}  {report.frames} of {report.total} frames finished ({share})")
    return 0
