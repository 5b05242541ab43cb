"""Turning pydantic validation errors into our messages: one home for every front.

Messages name where the problem is and what is wrong, never the rejected value: a
value in a config file, a results file or a feedback record may be a secret or
personal data. (Case files, whose values are the author's own test text, quote values
in their line-numbered errors: see :mod:`pytest_llmops.cases`.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Collection, Iterable, TypeVar

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


def config_problems(pyproject: Path | str, exc: ValidationError, tables: Collection[str] = (),
                    within: str | None = None) -> str:
    """``[tool.llmops]`` problems, one per line, each naming the table it is in.

    A problem inside one of ``tables`` (``gate``, ``monitor``, ...) names that table
    (``pyproject.toml [tool.llmops.gate]: unknown key 'min_pass_rat'``); any other is
    named from ``[tool.llmops]`` with a dotted path (``unknown key 'pii.allowlst'``).
    ``within`` names the table when ``exc`` comes from validating one section alone.
    """
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(str(part) for part in error["loc"])
        table = f"tool.llmops.{within}" if within else "tool.llmops"
        if not within and len(loc) > 1 and loc[0] in tables:
            table, loc = f"tool.llmops.{loc[0]}", loc[1:]
        source = f"{pyproject} [{table}]"
        where = ".".join(loc)
        if error["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown key {where!r}")
        else:
            lines.append(f"{source}: {where}: {message(error)}" if where else f"{source}: {message(error)}")
    return "\n".join(lines)


def with_overrides(section: Section, overrides: dict[str, Any] | None, pyproject: Path | str, table: str) -> Section:
    """``section`` (one ``[tool.llmops.TABLE]``) with command-line ``overrides`` on top, validated again.

    Overrides that are None were not given. ConfigError names the table, as for the file.
    """
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    if not given:
        return section
    try:
        return type(section).model_validate({**section.model_dump(exclude_unset=True), **given})
    except ValidationError as exc:
        raise ConfigError(config_problems(pyproject, exc, within=table)) from None
