"""The checks' own settings: who judges and embeds, what tokens cost, how the safety checks decide.

``[tool.llmops.judge]``, ``[tool.llmops.embeddings]``, ``[tool.llmops.prices]``,
``[tool.llmops.leaks]`` and ``[tool.llmops.refusal]``; part of
:class:`pytest_llmops.config.Settings`, validated with the rest of the file, so a typo
stops the run before anything is sent. The judge and the embedder are named targets
(``[tool.llmops.targets.NAME]``, or ``stub``); nothing is sent to either unless a case
asks for a ``judge`` or ``similar`` check (docs/checks.md). Secrets have their own
section beside personal data (``pii/settings.py``'s ``SecretSettings``; docs/probes.md).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: the fewest letters and digits a configured canary may have: shorter ones turn up in ordinary text
MIN_CANARY_CHARS = 8


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JudgeSettings(_Section):
    """``[tool.llmops.judge]``: who grades ``judge:`` rubrics, and how."""

    #: a target name; None: no judge, and a case with ``judge:`` is a collection error
    target: str | None = None
    #: personal data in the conversation and reply is masked before the judge sees it
    mask_pii: bool = True
    #: an unparseable verdict is asked for again this many times before the check fails
    retries: int = Field(default=1, ge=0, le=5)


class EmbeddingSettings(_Section):
    """``[tool.llmops.embeddings]``: who embeds texts for ``similar:``."""

    target: str | None = None
    mask_pii: bool = True


class ModelPrice(_Section):
    """What a model costs, in US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class LeakSettings(_Section):
    """``no_system_prompt_leak``: how long a run of system-prompt words is a leak, and the canary."""

    min_words: int = Field(default=8, ge=3, le=200)  # this many consecutive words of the system prompt is a leak
    canary: str | None = None  # None: a new canary every run; a fixed one lets cassettes replay probes
    # whose system prompts get the canary: cases tagged ``probe`` (the library's, exported ones too), all, none
    plant_canary: Literal["probes", "all", "never"] = "probes"

    @field_validator("canary")
    @classmethod
    def _canary_is_distinctive(cls, value: str | None) -> str | None:
        if value is not None and sum(char.isalnum() for char in value) < MIN_CANARY_CHARS:
            raise ValueError(f"canary needs at least {MIN_CANARY_CHARS} letters or digits, so it never turns up "
                             "in an ordinary reply")
        return value


class RefusalSettings(_Section):
    """``refusal``: the phrases that make a reply a refusal, and whether a judge decides instead.

    ``phrases`` replaces the built-in set (``checks.refusal.DEFAULT_REFUSAL_PHRASES``);
    ``extra_phrases`` adds to whichever set is in force. ``judge = true`` asks the LLM
    judge (``[tool.llmops.judge]``) instead, for replies the phrases do not settle.
    """

    phrases: list[str] | None = None
    extra_phrases: list[str] = Field(default_factory=list)
    judge: bool = False

    @field_validator("phrases", "extra_phrases")
    @classmethod
    def _no_blank_phrase(cls, phrases: list[str] | None) -> list[str] | None:
        for phrase in phrases or ():
            if len(phrase.split()) < 2:
                raise ValueError("every refusal phrase must be two words or more: one word "
                                 "(\"sorry\", \"can't\") turns up in replies that help")
        return phrases


__all__ = ["JudgeSettings", "EmbeddingSettings", "ModelPrice", "LeakSettings", "RefusalSettings"]
