"""``vidstyle try``: one frame painted in several styles, on one sheet."""

from __future__ import annotations

from collections.abc import Sequence

from vidstyle.cli.parser import TRY_OPTIONS, build_try_parser
from vidstyle.cli.progress import progress_bar, setup_logging


def run_try(argv: Sequence[str]) -> int:
    args = build_try_parser().parse_args(argv)
    setup_logging(verbose=False, quiet=False)
    from vidstyle.style_sheet import try_styles

    options = {name: getattr(args, name) for name in TRY_OPTIONS if getattr(args, name) is not None}
    with progress_bar("style", "painting the frame", False) as bar:
        sheet = try_styles(
            args.input,
            args.style,
            args.output,
            at=args.at,
            overwrite=args.overwrite,
            on_style=lambda done, total: bar.update_to(done, total, {}),
            **options,
        )
    width, height = sheet.size
    print(f"{sheet.path}  ({len(args.style)} styles at {width}x{height}, the frame at {float(sheet.time):.2f} s)")
    return 0
