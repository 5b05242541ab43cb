"""``[tool.llmops.judge]``, ``[tool.llmops.embeddings]`` and ``[tool.llmops.prices]``: the checks' own settings.

Part of :class:`pytest_llmops.config.Settings`, validated with the rest of the file. The
judge and the embedder are named targets (``[tool.llmops.targets.NAME]``, or ``stub``);
nothing is sent to either unless a case asks for a ``judge`` or ``similar`` check.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class JudgeSettings(BaseModel):
    """``[tool.llmops.judge]``: who grades ``judge:`` rubrics, and how."""

    model_config = ConfigDict(extra="forbid")

    #: a target name; None: no judge, and a case with ``judge:`` is a collection error
    target: str | None = None
    #: personal data in the conversation and reply is masked before the judge sees it
    mask_pii: bool = True
    #: an unparseable verdict is asked for again this many times before the check fails
    retries: int = Field(default=1, ge=0, le=5)


class EmbeddingSettings(BaseModel):
    """``[tool.llmops.embeddings]``: who embeds texts for ``similar:``."""

    model_config = ConfigDict(extra="forbid")

    target: str | None = None
    mask_pii: bool = True


class ModelPrice(BaseModel):
    """What a model costs, in US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)


__all__ = ["JudgeSettings", "EmbeddingSettings", "ModelPrice"]
