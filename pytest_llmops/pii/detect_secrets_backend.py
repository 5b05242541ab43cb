"""Yelp's detect-secrets as an extra source of secret findings (``backend = "detect-secrets"``).

Optional: ``pip install 'pytest-llmops[secrets]'`` and ``backend = "detect-secrets"``
under ``[tool.llmops.secrets]``. It adds the formats of detect-secrets' regex plugins
(Twilio, Mailchimp, Azure storage keys, Discord, Telegram, Square, IBM Cloud, basic-auth
URLs, ...) to the built-in rules, which stay on. Its high-entropy and keyword plugins
are left out: they are written for source code and flag ordinary words in prose ("The",
"shipped", "November" all come back as "Base64 High Entropy String"), and its public-IP
plugin is personal data's business. detect-secrets reports values, not positions, so
each plugin's patterns are run here for their spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..errors import ConfigError

#: plugins left out, by class name: code-oriented guesses, or not a secret of ours to find
SKIPPED_PLUGINS = frozenset({"Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector",
                             "IPPublicDetector"})


def rule_name(secret_type: str) -> str:
    """detect-secrets' ``"Twilio API Key"`` as a rule name: ``twilio_api_key``."""
    return re.sub(r"[^a-z0-9]+", "_", secret_type.lower()).strip("_")


@dataclass(frozen=True)
class _Pattern:
    rule: str
    regex: re.Pattern[str]
    accept: Callable[[str], bool] | None


def _secret_span(match: re.Match[str]) -> tuple[int, int]:
    """Where the secret is in a plugin's match: its longest capture group when that is long enough to be
    one (the password of ``://user:PASSWORD@``), else the whole match (GitHub's group is only ``ghp``)."""
    groups = [match.span(index) for index in range(1, (match.lastindex or 0) + 1) if match.group(index)]
    longest = max(groups, key=lambda span: span[1] - span[0], default=None)
    if longest is not None and longest[1] - longest[0] >= 8:
        return longest
    return match.span()


class DetectSecretsBackend:
    """The regex plugins of detect-secrets, run for spans; ``(rule, start, end)`` for each finding."""

    def __init__(self, patterns: list[_Pattern]):
        self.patterns = patterns

    @classmethod
    def load(cls) -> "DetectSecretsBackend":
        """Every regex plugin detect-secrets has; ConfigError when it is not installed."""
        try:
            from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
            from detect_secrets.plugins.base import RegexBasedDetector
        except ImportError:
            raise ConfigError("[tool.llmops.secrets] backend = \"detect-secrets\" needs detect-secrets, which is not "
                              "installed: pip install 'pytest-llmops[secrets]' (or set backend = \"builtin\")") from None
        patterns = []
        for secret_type, plugin in sorted(get_mapping_from_secret_type_to_class().items()):
            if plugin.__name__ in SKIPPED_PLUGINS or not issubclass(plugin, RegexBasedDetector):
                continue
            accept = getattr(plugin, "is_formally_valid", None)  # JWTs: the parts must decode
            patterns.extend(_Pattern(rule_name(secret_type), regex, accept) for regex in plugin.denylist)
        return cls(patterns)

    def spans(self, text: str) -> list[tuple[str, int, int]]:
        found = []
        for pattern in self.patterns:
            for match in pattern.regex.finditer(text):
                start, end = _secret_span(match)
                value = text[start:end].strip()
                if len(value) < 8 or (pattern.accept is not None and not pattern.accept(value)):
                    continue
                start += text[start:end].index(value)
                found.append((pattern.rule, start, start + len(value)))
        return found

