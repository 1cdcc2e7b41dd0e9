"""Options given (on the command line or as API keywords) turned into settings: their types
read from the settings' fields, checked, the quality preset applied, and a ``Job`` built
(``build_job``). What the options are is ``options.py``; the settings, ``settings.py``.
"""

from __future__ import annotations

import numbers
import os
import types
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from vidstyle.errors import UsageError
from vidstyle.options import (
    _OPTIONS_BY_NAME,
    JOB_GROUPS,
    JOB_OPTIONS,
    PRESETS,
    RENAMED_OPTIONS,
    Option,
    QualityName,
    field_flag,
    option_flag,
    renamed_option_error,
)
from vidstyle.settings import (
    ClusterSettings,
    EncodeSettings,
    EngineSettings,
    Job,
    LossWeights,
    OptimizerSettings,
    StyleSettings,
    TemporalSettings,
    check_choice,
)

GROUPS: dict[str, type] = {
    "job": Job,
    "style": StyleSettings,
    "losses": LossWeights,
    "optimizer": OptimizerSettings,
    "temporal": TemporalSettings,
    "engine": EngineSettings,
    "encode": EncodeSettings,
    "cluster": ClusterSettings,
}


def option_type(option: Option) -> Any:
    """The type of the field an option sets, as annotated (``Literal[...]``, ``int | None`` ...)."""
    return get_type_hints(GROUPS[option.group])[option.field]


# What each annotated type accepts from the Python API (the command line parses its text to
# these first), and its name in a message. numbers' classes take numpy's scalars too.
_API_TYPES: dict[type, tuple[tuple[type, ...], str]] = {
    bool: ((bool,), "True or False"),
    int: ((numbers.Integral,), "a whole number"),
    float: ((numbers.Real,), "a number"),
    str: ((str, os.PathLike), "text"),
}


def check_option_type(option: Option, value: object) -> None:
    """Raise UsageError unless an API value has the option's type: ``size="big"`` is refused
    in one line, as ``--size big`` is, instead of failing somewhere inside."""
    kind, words_too = option_value_type(option)
    if kind is None or value in words_too:
        return  # a closed choice: the settings' own checks name the choices
    items = get_origin(kind) is tuple
    item_kind = get_args(kind)[0] if items else kind
    accepted, words = _API_TYPES[item_kind]

    def fits(item: object) -> bool:
        return isinstance(item, accepted) and (item_kind is bool or not isinstance(item, bool))

    fitting = isinstance(value, (list, tuple)) and all(map(fits, value)) if items else fits(value)
    if not fitting:
        expected = f"a list of {words.removeprefix('a ')}s" if items else words
        expected += "".join(f" or {word}" for word in words_too)
        raise UsageError(f"{option_flag(option.name)} takes {expected}; got {value!r}")


def option_value_type(option: Option) -> tuple[Any, tuple[str, ...]]:
    """The open type of an option's value (None for a closed choice, a ``Literal``), and the
    words it takes besides: ``--size`` takes a whole number or ``source``. None in a union
    is "not given", not a value."""
    kind = option_type(option)
    members = get_args(kind) if get_origin(kind) in (Union, types.UnionType) else (kind,)
    members = tuple(member for member in members if member is not type(None))
    words = tuple(word for member in members if get_origin(member) is Literal for word in get_args(member))
    open_types = [member for member in members if get_origin(member) is not Literal]
    return (open_types[0] if open_types else None), words


def option_choices(option: Option) -> tuple[str, ...]:
    """The values an option takes, where its field's type is a ``Literal`` (or None); else ()."""
    kind, words = option_value_type(option)
    return words if kind is None else ()


def option_default(option: Option) -> Any:
    """The default of the field an option sets (``MISSING`` where it has none)."""
    spec = next(f for f in fields(GROUPS[option.group]) if f.name == option.field)
    if spec.default_factory is not MISSING:
        return spec.default_factory()
    return spec.default


def default_text(option: Option) -> str | None:
    """An option's default in words, for ``--help``; None where there is nothing to say."""
    if option.default is not None:
        return option.default
    value = option_default(option)
    if value is MISSING or value is None or isinstance(value, bool):
        return None
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _refuse_options_that_do_nothing(groups: dict[str, dict[str, object]]) -> None:
    """Raise UsageError for an option given where the rest of the settings leave it nothing
    to do: silence would let the user think it did something."""
    flow = groups["temporal"].get("flow", "dis")
    if "dis_preset" in groups["temporal"] and flow != "dis":
        raise UsageError(
            f"{field_flag('temporal', 'dis_preset')} sets DIS's quality; --flow {flow} has no such setting"
        )
    if "learning_rate" in groups["optimizer"] and groups["optimizer"].get("optimizer", "lbfgs") != "adam":
        raise UsageError(
            f"{field_flag('optimizer', 'learning_rate')} is Adam's learning rate; L-BFGS takes steps of its own "
            "(add --optimizer adam to use it)"
        )


def build_job(styles: tuple[str | Path, ...] | list[str | Path], **options: object) -> Job:
    """A Job from flat options; ``None`` values mean "not given" and leave the default.

    The quality preset fills the optimizer budget and tolerance that were not given.
    """
    for name in options.keys() & RENAMED_OPTIONS.keys():
        raise renamed_option_error(name)
    unknown = sorted(set(options) - JOB_OPTIONS)
    if unknown:
        raise UsageError(f"unknown option(s): {', '.join(unknown)}")
    groups: dict[str, dict[str, object]] = {name: {} for name in JOB_GROUPS}
    for name, value in options.items():
        if value is None:
            continue
        option = _OPTIONS_BY_NAME[name]
        check_option_type(option, value)
        if isinstance(value, os.PathLike):  # --init's image file
            value = os.fspath(value)
        groups[option.group][option.field] = tuple(value) if isinstance(value, list) else value
    _refuse_options_that_do_nothing(groups)
    quality = groups["job"].get("quality", "normal")
    check_choice(field_flag("job", "quality"), quality, QualityName)
    preset = PRESETS[quality]  # type: ignore[index]
    for field_name in ("iterations", "later_iterations", "tolerance", "scales"):
        groups["optimizer"].setdefault(field_name, getattr(preset, field_name))
    return Job(
        style=StyleSettings(paths=tuple(Path(p) for p in styles), **groups["style"]),  # type: ignore[arg-type]
        losses=LossWeights(**groups["losses"]),  # type: ignore[arg-type]
        optimizer=OptimizerSettings(**groups["optimizer"]),  # type: ignore[arg-type]
        temporal=TemporalSettings(**groups["temporal"]),  # type: ignore[arg-type]
        engine=EngineSettings(**groups["engine"]),  # type: ignore[arg-type]
        **groups["job"],  # type: ignore[arg-type]
    )
