"""Turning pydantic validation errors into our messages: one home for every front.

Messages name where the problem is and what is wrong, never the rejected value: a
value in a config file, a results file or a feedback record may be a secret or
personal data. (Case files, whose values are the author's own test text, quote values
in their line-numbered errors: see :mod:`pytest_llmops.cases`.)
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any, Collection, Iterable, Mapping, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import ConfigError

Section = TypeVar("Section", bound=BaseModel)

VALUE_ERROR_PREFIX = "Value error, "


def message(error: dict[str, Any]) -> str:
    """The sentence of one pydantic error, without pydantic's ``Value error,`` prefix."""
    return str(error["msg"]).removeprefix(VALUE_ERROR_PREFIX)


def dotted(loc: Iterable[Any]) -> str:
    """A location as people write it: ``cases[2].turns[0].expect``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def one_line(exc: ValidationError, *, limit: int | None = None, whole: str = "(document)",
             unknown: str = "unknown field") -> str:
    """Every problem as ``where: what``, joined with ``; `` (at most ``limit``, then a count of the rest)."""
    errors = exc.errors(include_url=False)
    shown = errors if limit is None else errors[:limit]
    parts = []
    for error in shown:
        where = ".".join(str(part) for part in error["loc"]) or whole
        parts.append(f"{where}: {unknown if error['type'] == 'extra_forbidden' else message(error)}")
    more = len(errors) - len(shown)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def closest_key(name: str, known: Iterable[str]) -> str | None:
    """The known key ``name`` was probably meant to be (a typo's nearest match), or None."""
    matches = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'model'?"`` for a close match among ``known``, else an empty string."""
    match = closest_key(name, known)
    return f"; did you mean {match!r}?" if match else ""


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds (unwrapping ``X | None``), or None for plain values."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [arg for arg in typing.get_args(annotation) if isinstance(arg, type) and issubclass(arg, BaseModel)]
        return models[0] if len(models) == 1 else None
    return None


def known_keys(model: type[BaseModel] | None, path: Iterable[str]) -> list[str]:
    """The keys allowed in the table at ``path`` below ``model`` (empty when it cannot be told)."""
    for part in path:
        if model is None or part not in model.model_fields:
            return []
        model = _section_model(model.model_fields[part].annotation)
    return [] if model is None else list(model.model_fields)


def config_problems(pyproject: Path | str, exc: ValidationError, tables: Collection[str] = (),
                    within: str | None = None, model: type[BaseModel] | None = None,
                    flags: Mapping[str, str] | None = None) -> str:
    """``[tool.llmops]`` problems, one per line, each naming where the bad value came from.

    A value given on the command line names the option the user typed: ``flags`` maps a
    key (``concurrency``) to it (``--llmops-concurrency``). Any other problem names the
    file and table: one inside ``tables`` (``gate``, ``monitor``, ...) names that table
    (``pyproject.toml [tool.llmops.gate]: unknown key 'min_pass_rat'``); any other is
    named from ``[tool.llmops]`` with a dotted path (``unknown key 'pii.allowlst'``).
    ``within`` names the table when ``exc`` comes from validating one section alone.
    With ``model`` (the validated class), an unknown key comes with the closest known one.
    """
    lines = []
    for error in exc.errors(include_url=False):
        full = tuple(str(part) for part in error["loc"])
        flag = (flags or {}).get(full[0]) if full else None
        if flag is not None:
            what = "unknown key" if error["type"] == "extra_forbidden" else message(error)
            lines.append(f"{flag}: {what}")
            continue
        loc = full
        table = f"tool.llmops.{within}" if within else "tool.llmops"
        if not within and len(loc) > 1 and loc[0] in tables:
            table, loc = f"tool.llmops.{loc[0]}", loc[1:]
        source = f"{pyproject} [{table}]"
        where = ".".join(loc)
        if error["type"] == "extra_forbidden":
            hint = did_you_mean(full[-1], known_keys(model, full[:-1])) if model is not None else ""
            lines.append(f"{source}: unknown key {where!r}{hint}")
        else:
            lines.append(f"{source}: {where}: {message(error)}" if where else f"{source}: {message(error)}")
    return "\n".join(lines)


def table_problems(pyproject: Path | str, table: str, exc: ValidationError, known: Iterable[str] = (),
                   label: str | None = None) -> str:
    """Problems in one free-form table such as ``[tool.llmops.targets.NAME]``, one per line.

    An unknown key reads ``unknown option 'modle' in [tool.llmops.targets.bot]; did you
    mean 'model'?`` (``known``: the keys the table allows), never pydantic's jargon; any
    other problem ``target 'bot': base_url: ...`` (``label`` names the thing, else the table).
    """
    lines = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        if error["type"] == "extra_forbidden":
            lines.append(f"{pyproject}: unknown option {loc[-1]!r} in [{table}]{did_you_mean(loc[-1], known)}")
        else:
            where = ".".join(loc)
            lines.append(f"{pyproject}: {label or '[' + table + ']'}: {where + ': ' if where else ''}{message(error)}")
    return "\n".join(lines)


def with_overrides(section: Section, overrides: dict[str, Any] | None, pyproject: Path | str, table: str,
                   flags: Mapping[str, str] | None = None) -> Section:
    """``section`` (one ``[tool.llmops.TABLE]``) with command-line ``overrides`` on top, validated again.

    Overrides that are None were not given. ConfigError names the option that was typed
    (``flags``: key -> option) for a bad override, and the table for a bad value in the file.
    """
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    if not given:
        return section
    try:
        return type(section).model_validate({**section.model_dump(exclude_unset=True), **given})
    except ValidationError as exc:
        given_flags = {key: flag for key, flag in (flags or {}).items() if key in given}
        raise ConfigError(config_problems(pyproject, exc, within=table, model=type(section),
                                          flags=given_flags)) from None
