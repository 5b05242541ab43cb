"""The masking rule for what is stored (feedback, monitor log, generated cases, audit).

Storage masks more than the checks look for: every built-in kind, whatever
``[tool.llmops.pii] kinds`` narrows the checks to (data minimisation), plus the
project's own custom patterns, and never what the project allowlists. Secrets are
masked as ``[SECRET]`` by the rules ``[tool.llmops.secrets]`` describes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .detector import PiiDetector
from .secrets import SecretDetector

if TYPE_CHECKING:
    from ..config import Settings


def storage_detector(settings: "Settings | None" = None) -> PiiDetector:
    """The detector that masks text before it is stored: every built-in kind, custom patterns, allowlist, secrets."""
    if settings is None:
        return PiiDetector()
    return PiiDetector(None, settings.pii.allowlist, settings.pii.custom,
                       secrets=SecretDetector.from_settings(settings.secrets), regions=settings.pii.regions)
