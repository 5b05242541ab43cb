"""The ``json`` check: the reply parses as JSON and, with ``schema``, validates against a JSON Schema.

The reply must be JSON as it stands (surrounding white space aside): a program that
reads the bot's answer would not strip Markdown fences either. Schema errors are listed
with their path in the document (``$.items[0].sku``), at most three, masked like every
other text a check shows.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from ..transcript import CheckResult
from . import names

if TYPE_CHECKING:
    from ..cases import JsonExpect

ERRORS_SHOWN = 3


def json_path(parts: Any) -> str:
    """A location in a JSON document as ``$.a[0].b``."""
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)


def json_check(rule: "bool | JsonExpect", reply: str, mask: Callable[[str], str]) -> CheckResult:
    """``json: true`` or ``json: {schema: ...}`` for one reply."""
    schema = None if isinstance(rule, bool) else rule.json_schema
    expected = "reply is JSON" + ("" if schema is None else " matching the schema")
    try:
        document = json.loads(reply)
    except ValueError as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return CheckResult(names.JSON, False, expected, f"not JSON ({reason}{where})")
    if schema is None:
        return CheckResult(names.JSON, True, expected, "valid JSON")
    import jsonschema  # only runs that check a schema pay for the import

    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(document), key=lambda error: [str(p) for p in error.absolute_path])
    if not errors:
        return CheckResult(names.JSON, True, expected, "valid JSON, matches the schema")
    shown = "; ".join(f"at {json_path(error.absolute_path)}: {mask(error.message)}" for error in errors[:ERRORS_SHOWN])
    more = f" (and {len(errors) - ERRORS_SHOWN} more)" if len(errors) > ERRORS_SHOWN else ""
    return CheckResult(names.JSON, False, expected, f"{len(errors)} schema error(s): {shown}{more}")


__all__ = ["json_check", "json_path"]
