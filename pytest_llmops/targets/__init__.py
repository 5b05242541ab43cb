"""The chatbots a run can talk to, built by name from settings.

* :mod:`.base`: the :class:`Target` interface (``send``, ``end``, ``describe``, ``close``);
* :mod:`.stub`: the built-in support bot; :mod:`.stub_server`: the same bot over HTTP (``llmops serve-stub``);
* :mod:`.http_client`: what the HTTP kinds share (deadlines, retries, fault mapping);
* :mod:`.openai`, :mod:`.http`, :mod:`.python`: one module per kind;
* :mod:`.cassette`: recording and replaying any target.

Add a kind: a module with a ``Target`` subclass and ``from_options``, then an entry in KINDS.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from pydantic import ValidationError

from ..config import Settings
from ..errors import ConfigError
from ..validation import table_problems
from .base import Message, Target
from .stub import StubTarget

Factory = Callable[[str, dict[str, Any], Settings], Target]

# Where each kind lives. They are imported only when a target of that kind is built: the
# plugin loads in every pytest run, and httpx with httpcore alone take ~0.15 s to import.
_LAZY_KINDS = {"openai": (".openai", "OpenAITarget"), "http": (".http", "HttpTarget"),
               "python": (".python", "PythonTarget")}


def _lazy_factory(module: str, class_name: str) -> Factory:
    def factory(name: str, options: dict[str, Any], settings: Settings) -> Target:
        return getattr(importlib.import_module(module, __name__), class_name).from_options(name, options, settings)
    return factory


#: kind name -> factory(name, options, settings) -> Target
KINDS: dict[str, Factory] = {
    "stub": lambda name, options, settings: StubTarget.from_options(name, options),
    **{kind: _lazy_factory(module, class_name) for kind, (module, class_name) in _LAZY_KINDS.items()},
}


def __getattr__(name: str) -> Any:
    """``from pytest_llmops.targets import OpenAITarget`` still works, importing on first use."""
    for module, class_name in _LAZY_KINDS.values():
        if name == class_name:
            return getattr(importlib.import_module(module, __name__), class_name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: options every kind of target takes, besides its own
COMMON_OPTIONS = ("type", "system")


def target_table(name: str, settings: Settings) -> dict[str, Any]:
    """The options of target ``name`` as written (``stub`` needs no table); ConfigError for an unknown name."""
    spec = settings.targets.get(name)
    if spec is not None:
        return dict(spec)
    if name == "stub":
        return {"type": "stub"}
    known = sorted({"stub", *settings.targets})
    raise ConfigError(f"unknown target {name!r}; known targets: {', '.join(known)} "
                      "(define more under [tool.llmops.targets.NAME])")


def system_prompt(name: str, settings: Settings) -> str | None:
    """The chatbot's system prompt from ``system = "..."`` in the target's table, or None.

    Sent before every conversation whose case and file set no ``system`` of their own.
    """
    system = target_table(name, settings).get("system")
    if system is not None and not isinstance(system, str):
        raise ConfigError(f"{settings.pyproject}: target {name!r}: system: must be text "
                          "(the chatbot's system prompt)")
    return system


def target_class(kind: str) -> type[Target] | None:
    """The Target class of ``kind`` (imported on first use), or None for a kind only KINDS knows."""
    if kind == "stub":
        return StubTarget
    if kind in _LAZY_KINDS:
        module, class_name = _LAZY_KINDS[kind]
        return getattr(importlib.import_module(module, __name__), class_name)
    return None


def option_names(kind: str) -> list[str]:
    """Every option a target of ``kind`` accepts (for suggesting the one a typo meant)."""
    model = getattr(target_class(kind), "options_model", None)
    return [*COMMON_OPTIONS, *(model.model_fields if model is not None else ())]


def build_target(name: str, settings: Settings) -> Target:
    """The target called ``name``: one of ``[tool.llmops.targets]``, or ``stub`` for the built-in bot.

    Raises ConfigError (before anything runs) for unknown names or bad options.
    """
    options = target_table(name, settings)
    system = system_prompt(name, settings)
    options.pop("system", None)
    kind = options.pop("type", "stub")
    factory = KINDS.get(kind)
    if factory is None:
        raise ConfigError(f"{settings.pyproject}: target {name!r}: unknown type {kind!r}; "
                          f"known types: {', '.join(sorted(KINDS))}")
    try:
        target = factory(name, options, settings)
    except ValidationError as exc:
        raise ConfigError(table_problems(settings.pyproject, f"tool.llmops.targets.{name}", exc,
                                         option_names(kind), label=f"target {name!r}")) from None
    target.system = system
    return target


__all__ = ["Target", "Message", "StubTarget", "OpenAITarget", "HttpTarget", "PythonTarget", "build_target", "KINDS",
           "target_table", "target_class", "system_prompt", "option_names", "COMMON_OPTIONS"]
