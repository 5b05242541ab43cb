"""Variables in case files: ``{name}`` placeholders, per-file ``vars`` and values saved from replies.

A turn may capture part of a reply (``save: {order_id: "order (\\d+)"}``) and later turns
use it (``user: "Where is {order_id}?"``). A file's ``vars`` give fixed values, or a list
of value sets that turns each case into one variant per set (parametrised cases).
``{{`` and ``}}`` stand for literal braces. References are checked when a file loads, so
a typo in a name is a line-numbered error, not a wrong message sent to the bot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from .transcript import CheckResult, Exchange

if TYPE_CHECKING:  # cases.py imports this module; keep the import one-way at run time
    from .cases import Case, Expect

NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
NAME_RE = re.compile(rf"^{NAME_PATTERN}$")
_TOKEN_RE = re.compile(rf"\{{\{{|\}}\}}|\{{({NAME_PATTERN})\}}")
#: Expect fields holding plain text, and those holding regular expressions.
TEXT_FIELDS = ("contains", "not_contains", "equals")
REGEX_FIELDS = ("matches", "not_matches")
#: texts inside nested expectations: (Expect field, its field) -- a judge's rubric, a similarity reference
NESTED_TEXT_FIELDS = (("judge", "rubric"), ("similar", "to"))
MAX_LABEL_CHARS = 40


def references(text: str) -> list[str]:
    """The variable names ``text`` refers to, in order (``{{`` escapes are not references)."""
    return [match.group(1) for match in _TOKEN_RE.finditer(text) if match.group(1)]


def fill(text: str, values: Mapping[str, str], escape: bool = False) -> str:
    """``text`` with each ``{name}`` replaced by its value (regex-escaped if ``escape``).

    Unknown names stay as written: loading already rejected them, so one left here
    means its value was never captured, and the turn that should have saved it failed.
    """

    def replace(match: re.Match[str]) -> str:
        token, name = match.group(0), match.group(1)
        if name is None:
            return token[0]
        if name not in values:
            return token
        return re.escape(values[name]) if escape else values[name]

    return _TOKEN_RE.sub(replace, text)


def literal(text: str) -> str:
    """``text`` written so that filling gives it back unchanged (braces doubled): for generated cases."""
    return text.replace("{", "{{").replace("}", "}}")


def fill_expect(expect: "Expect", values: Mapping[str, str]) -> "Expect":
    """``expect`` with variables filled into its texts and (escaped) into its regexes."""
    update: dict[str, Any] = {}
    for name in (*TEXT_FIELDS, *REGEX_FIELDS):
        value = getattr(expect, name)
        if value is None:
            continue
        escape = name in REGEX_FIELDS
        update[name] = fill(value, values) if isinstance(value, str) else [fill(v, values, escape) for v in value]
    for outer, inner in NESTED_TEXT_FIELDS:
        nested = getattr(expect, outer)
        if nested is not None:
            update[outer] = nested.model_copy(update={inner: fill(getattr(nested, inner), values)})
    return expect.model_copy(update=update)


def compile_capture(pattern: str) -> re.Pattern[str]:
    """A ``save`` pattern, compiled; raises ValueError with a readable reason."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None


@dataclass
class Capture:
    """What one turn's ``save`` found in its reply: the values, and the names it could not find."""

    saved: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # name -> pattern that did not match


def capture(save: Mapping[str, str], reply: str) -> Capture:
    """Apply each ``save`` pattern to ``reply``: the first group if it has one, else the whole match."""
    result = Capture()
    for name, pattern in save.items():
        match = compile_capture(pattern).search(reply)
        if match is None:
            result.missing[name] = pattern
            continue
        value = match.group(1) if match.re.groups else match.group(0)
        if value is None:  # an optional group that did not take part
            result.missing[name] = pattern
        else:
            result.saved[name] = value
    return result


def save_checks(exchange: Exchange) -> list[CheckResult]:
    """One ``save`` result per variable the turn tried to capture; a miss fails the turn.

    The texts hold the captured values as they are: the checker cleans every result's text.
    """
    results = [CheckResult("save", True, f"reply gives a value for {{{name}}}", f"saved {name} = {value!r}")
               for name, value in exchange.saved.items()]
    results += [CheckResult("save", False, f"reply matches '{pattern}' to save {{{name}}}",
                            "no match: later turns that use it were not sent")
                for name, pattern in exchange.save_missing.items()]
    return results


def _expect_texts(expect: "Expect | None") -> Iterator[tuple[tuple, str]]:
    if expect is None:
        return
    for name in (*TEXT_FIELDS, *REGEX_FIELDS):
        value = getattr(expect, name)
        if isinstance(value, str):
            yield (name,), value
        elif value:
            for index, item in enumerate(value):
                yield (name, index), item
    for outer, inner in NESTED_TEXT_FIELDS:
        nested = getattr(expect, outer)
        if nested is not None:
            yield (outer, inner), getattr(nested, inner)


def case_texts(case: "Case", system: str | None) -> Iterator[tuple[int | None, tuple, str]]:
    """Every text of a case that may hold variables: (turn index or None, location, text)."""
    if system is not None:
        yield None, ("system",), system
    for loc, text in _expect_texts(case.expect):
        yield None, ("expect", *loc), text
    for index, turn in enumerate(case.turns):
        yield index, ("turns", index, "user"), turn.user
        for loc, text in _expect_texts(turn.expect):
            yield index, ("turns", index, "expect", *loc), text


def unknown_references(case: "Case", system: str | None, fixed: set[str]) -> list[tuple[tuple, str]]:
    """(location, sentence) for each reference to a variable not defined before it is used.

    A turn sees the fixed variables and everything saved by earlier turns. Case-wide
    texts (system prompt, case ``expect``) see only the fixed ones.
    """
    saved_before: list[set[str]] = []
    known: set[str] = set()
    for turn in case.turns:
        saved_before.append(set(known))
        known |= set(turn.save or {})
    problems = []
    for turn_index, loc, text in case_texts(case, system):
        visible = fixed | (saved_before[turn_index] if turn_index is not None else set())
        for name in references(text):
            if name not in visible:
                later = turn_index is not None and name in known
                hint = ("it is saved by a later turn" if later
                        else f"known: {', '.join(sorted(visible))}" if visible else "no variables are defined here")
                problems.append((loc, f"unknown variable {{{name}}} ({hint}; write {{{{ and }}}} for literal braces)"))
    return problems


def variant_label(values: Mapping[str, Any]) -> str:
    """A short id for one set of file ``vars``: its values joined by '-', e.g. ``48212-en``."""
    parts = [re.sub(r"[^A-Za-z0-9_.-]+", "_", str(value)).strip("_") for value in values.values()]
    return "-".join(part for part in parts if part)[:MAX_LABEL_CHARS]


def variant_labels(sets: list[Mapping[str, Any]]) -> list[str]:
    """Labels for each value set; falls back to the set's index where labels would clash or be empty."""
    labels = [variant_label(values) for values in sets]
    if len(set(labels)) != len(labels) or not all(labels):
        return [str(index) for index in range(len(sets))]
    return labels


def as_text(values: Mapping[str, Any]) -> dict[str, str]:
    """Variable values as the strings that are filled in (YAML may give numbers)."""
    return {name: str(value) for name, value in values.items()}


__all__ = ["references", "fill", "literal", "fill_expect", "capture", "Capture", "unknown_references",
           "variant_labels", "as_text", "compile_capture", "NAME_RE"]
