"""The options of a try from the page, read as ``vidstyle try`` reads its own."""

from __future__ import annotations

from vidstyle.cli.parser import TRY_OPTIONS, build_try_parser
from vidstyle.errors import UsageError
from vidstyle.studio.render_request import option_arguments, parse_with


def try_options(options: dict[str, object]) -> dict[str, object]:
    """The page's options of a try (``vidstyle try``'s: quality, size, weights, colours) as
    ``try_styles``'s keywords, checked by its parser; a bad one raises UsageError."""
    unknown = sorted(set(options) - set(TRY_OPTIONS))
    if unknown:
        raise UsageError(f"a try does not take {', '.join(unknown)}")
    args = parse_with(build_try_parser(), ["clip", "--style", "style", *option_arguments(options)])
    return {name: getattr(args, name) for name in TRY_OPTIONS if getattr(args, name) is not None}
