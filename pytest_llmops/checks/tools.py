"""The ``tool_calls`` and ``no_tool_calls`` checks: which functions the bot called in a turn.

Every call of the turn counts, over every tool round (see :mod:`pytest_llmops.replay`).
An expected call is met by a call of the same name whose arguments hold the expected
ones (a subset: nested mappings are compared key by key, anything else by equality, as
JSON values); each call made meets at most one expected call. Calls the case did not
name are allowed. A target that cannot report tool calls fails both checks rather than
passing them unseen.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from ..transcript import CheckResult, ToolCall
from . import names

if TYPE_CHECKING:
    from ..cases import ToolCallExpect

NOT_REPORTED = "the target reports no tool calls (openai and stub targets do)"


def holds(actual: Any, expected: Any) -> bool:
    """True when ``actual`` holds ``expected``: mappings as subsets (recursively), other values equal."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(key in actual and holds(actual[key], value)
                                                for key, value in expected.items())
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return expected == actual


def _meets(call: ToolCall, expected: "ToolCallExpect") -> bool:
    if call.name != expected.name:
        return False
    if not expected.args:
        return True
    try:
        return holds(call.parsed_arguments(), expected.args)
    except ValueError:
        return False  # arguments that are not JSON hold nothing


def describe_call(name: str, args: Any) -> str:
    return f"{name}({json.dumps(args, ensure_ascii=False, sort_keys=True) if args else ''})"


def describe_made(calls: list[ToolCall]) -> str:
    return ", ".join(f"{call.name}({call.arguments})" for call in calls) or "no tool calls"


def tool_calls_check(expected: list["ToolCallExpect"], calls: list[ToolCall] | None,
                     mask: Callable[[str], str]) -> CheckResult:
    """Every expected call was made (arguments as a subset), in any order."""
    wanted = ", ".join(describe_call(call.name, call.args) for call in expected)
    what = f"calls {mask(wanted)}"
    if calls is None:
        return CheckResult(names.TOOL_CALLS, False, what, NOT_REPORTED)
    unused = list(calls)
    missing = []
    for call in expected:
        match = next((made for made in unused if _meets(made, call)), None)
        if match is None:
            missing.append(call)
        else:
            unused.remove(match)
    made = mask(describe_made(calls))
    if not missing:
        return CheckResult(names.TOOL_CALLS, True, what, f"made {made}")
    absent = ", ".join(describe_call(call.name, call.args) for call in missing)
    return CheckResult(names.TOOL_CALLS, False, what, f"missing {mask(absent)}; made {made}")


def no_tool_calls_check(calls: list[ToolCall] | None, mask: Callable[[str], str]) -> CheckResult:
    if calls is None:
        return CheckResult(names.NO_TOOL_CALLS, False, "no tool calls", NOT_REPORTED)
    return CheckResult(names.NO_TOOL_CALLS, not calls, "no tool calls",
                       "none made" if not calls else f"made {mask(describe_made(calls))}")


__all__ = ["tool_calls_check", "no_tool_calls_check", "holds"]
