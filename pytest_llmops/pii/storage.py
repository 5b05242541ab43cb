"""The masking rule for what is stored (feedback, monitor log, generated cases, audit).

Storage masks more than the checks look for: every built-in kind, whatever
``[tool.llmops.pii] kinds`` narrows the checks to (data minimisation), plus the
project's own custom patterns, and never what the project allowlists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .detector import PiiDetector

if TYPE_CHECKING:
    from ..config import Settings


def storage_detector(settings: "Settings | None" = None) -> PiiDetector:
    """The detector that masks text before it is stored: every built-in kind, custom patterns, allowlist."""
    if settings is None:
        return PiiDetector()
    return PiiDetector(None, settings.pii.allowlist, settings.pii.custom, regions=settings.pii.regions)
