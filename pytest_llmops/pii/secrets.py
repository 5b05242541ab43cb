"""Secrets a chatbot might say: API keys, tokens and private keys, found by their shape.

A kind of sensitive data beside personal data. The rules are written for prose, not
for source code: each pattern spans the whole secret (a PEM block from ``BEGIN`` to
``END``, not its first line), so masking hides all of it, and a candidate is kept only
when it looks like a real secret (not ``sk-xxxxxxxxxxxxxxxx``). Every finding is masked
as ``[SECRET]`` by :meth:`pytest_llmops.pii.PiiDetector.mask`, whatever its format:
the label must not say which vendor's key it was.

The formats (docs/probes.md): OpenAI and Anthropic ``sk-…``, AWS access key ids
``AKIA…``/``ASIA…``, GitHub ``ghp_…``/``github_pat_…``, GitLab ``glpat-…``, Slack
``xox…`` tokens and webhooks, Stripe ``sk_live_…``, Google ``AIza…``, Hugging Face
``hf_…``, SendGrid, npm and PyPI tokens, JSON Web Tokens, PEM private key blocks, and
a long high-entropy string right after a word such as key, token, secret or password.
``backend = "detect-secrets"`` in ``[tool.llmops.secrets]`` adds Yelp's detect-secrets
format plugins on top.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence

from .allowlist import Allowlist
from .findings import PiiFinding, kept_spans
from .screen import SEPARATOR, could_hold_each

SECRET_KIND = "secret"
KEYWORD_RULE = "keyword_secret"  # the generic rule: a random value right after "key", "token", "password"...


@dataclass(frozen=True)
class SecretFinding(PiiFinding):
    """A secret in some text; ``rule`` names its format (``openai_key``, ``jwt``...). Masked as ``[SECRET]``."""

    rule: str = ""

    def __repr__(self) -> str:  # keep the value out of tracebacks and logs
        return f"SecretFinding(rule={self.rule!r}, start={self.start}, end={self.end})"


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``: random keys score high, words and repeated characters low."""
    if not value:
        return 0.0
    counts = Counter(value)
    length = len(value)
    return -sum(count / length * math.log2(count / length) for count in counts.values())


def looks_random(value: str, min_distinct: int = 8) -> bool:
    """Not a placeholder: enough different characters (``sk-xxxx…`` and ``AKIA0000…`` are examples, not keys)."""
    return len(set(value)) >= min_distinct


def _has_letters_and_digits(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def jwt_header(value: str) -> bool:
    """A JSON Web Token: its first part decodes to a JSON object naming an algorithm or a type."""
    head = value.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
        document = json.loads(decoded)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return isinstance(document, dict) and bool({"alg", "typ"} & set(document))


def random_key(value: str) -> bool:
    """The body of a vendor-prefixed key: letters and digits mixed, and not a placeholder."""
    return _has_letters_and_digits(value) and looks_random(value)


def high_entropy(value: str) -> bool:
    """A long value after a word like "key" or "token" that is random enough to be one.

    Hex keys (16 symbols) top out at 4 bits a character, base64 ones at 6; English
    words and order numbers score well below either threshold.
    """
    if not _has_letters_and_digits(value) or not looks_random(value, 10):
        return False
    is_hex = re.fullmatch(r"[0-9a-fA-F]+", value) is not None
    return shannon_entropy(value) >= (3.0 if is_hex else 3.5)


#: letters that a case-insensitive pattern matches with "i" or "s" but ``str.lower`` does not turn into them:
#: the dotless i, the dotted capital I (lowered to two characters) and the long s
_EXTRA_FOLDS = str.maketrans({"\u0131": "i", "\u0130": "i", "\u017f": "s"})


def hint_text(text: str) -> str:
    """``text`` as rule hints are compared with: lower case, with the letters ``re.IGNORECASE`` folds alike."""
    return text.lower() if text.isascii() else text.translate(_EXTRA_FOLDS).lower()


def any_of(words: Iterable[str]) -> re.Pattern[str]:
    """A pattern that finds any of ``words``, written as a tree of their common beginnings ("a(?:kia|sia)|sk-").

    The regex engine tries one branch at each position, where a plain alternation of forty
    words tries each of them: three times as fast on a reply. A word that another begins with
    is enough on its own, so the longer one is left out.
    """
    tree: dict[str, dict] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def branch(node: dict[str, dict]) -> str:
        if "" in node:  # a word ends here: what follows does not matter
            return ""
        alternatives = [re.escape(char) + branch(child) for char, child in sorted(node.items())]
        return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"

    return re.compile(branch(tree))


@dataclass(frozen=True)
class SecretRule:
    """One secret format: a pattern (group ``secret`` is the part masked, else the whole match), a check."""

    name: str
    pattern: re.Pattern[str]
    validator: Callable[[str], bool] | None = None
    #: texts one of which every match contains (lower case, compared with :func:`hint_text`): a text holding
    #: none of them skips the regex, as most replies do. Empty: the rule always runs.
    hints: tuple[str, ...] = ()

    def spans(self, text: str, lowered: str) -> Iterator[tuple[int, int]]:
        """(start, end) of every confirmed match; ``lowered`` is ``hint_text(text)``."""
        if self.hints and not any(hint in lowered for hint in self.hints):
            return
        for match in self.pattern.finditer(text):
            group = "secret" if "secret" in self.pattern.groupindex else 0
            start, end = match.span(group)
            if self.validator is None or self.validator(text[start:end]):
                yield start, end


_B = r"(?<![A-Za-z0-9_-])"  # a key starts at a word edge
_E = r"(?![A-Za-z0-9_-])"  # and ends at one
#: a piece of every keyword above, in lower case ("key" for api key, access key, private key; "passw" for
#: password and passwd...): the keyword rule's pre-filter
KEYWORD_HINTS = ("key", "secret", "token", "bearer", "passw", "passphrase", "credential", "auth")
_KEYWORDS = (r"api[ _-]?key|access[ _-]?key|secret(?:[ _-]?(?:access[ _-]?)?key)?|client[ _-]?secret|"
             r"token|bearer|password|passwd|passphrase|credentials?|private[ _-]?key|auth(?:orization)?")

BUILTIN_RULES: tuple[SecretRule, ...] = (
    SecretRule("private_key", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.{0,20000}?-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,-]*)",
        re.S), hints=("private key",)),
    SecretRule("openai_key", re.compile(_B + r"sk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d\d-)?"
                                            r"[A-Za-z0-9_-]{20,}" + _E),
               validator=lambda v: random_key(v.split("-", 1)[1]), hints=("sk-",)),
    SecretRule("aws_access_key_id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}"
                                               r"(?![A-Z0-9])"), validator=lambda v: looks_random(v[4:], 6),
               hints=("akia", "asia", "abia", "acca", "a3t")),
    SecretRule("github_token", re.compile(_B + r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{40,255})"
                                          + _E), validator=lambda v: random_key(v.split("_", 1)[1]),
               hints=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    SecretRule("gitlab_token", re.compile(_B + r"gl(?:pat|dt|rt|cbt|ptt|oas)-[A-Za-z0-9_-]{20,}" + _E),
               validator=lambda v: random_key(v.split("-", 1)[1]),
               hints=("glpat-", "gldt-", "glrt-", "glcbt-", "glptt-", "gloas-")),
    SecretRule("slack_token", re.compile(_B + r"xox[abposre]-[A-Za-z0-9-]{10,}" + _E),
               validator=lambda v: looks_random(v[5:]), hints=("xox",)),
    SecretRule("slack_webhook", re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/-]{20,}"),
               hints=("hooks.slack.com",)),
    SecretRule("stripe_key", re.compile(_B + r"(?:sk|rk|whsec)_(?:live|test)_[A-Za-z0-9]{16,}" + _E),
               validator=lambda v: random_key(v.rsplit("_", 1)[1]), hints=("_live_", "_test_")),
    SecretRule("google_api_key", re.compile(_B + r"AIza[0-9A-Za-z_-]{35}" + _E), hints=("aiza",)),
    SecretRule("huggingface_token", re.compile(_B + r"hf_[A-Za-z0-9]{30,40}" + _E),
               validator=lambda v: random_key(v[3:]), hints=("hf_",)),
    SecretRule("sendgrid_key", re.compile(_B + r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}" + _E), hints=("sg.",)),
    SecretRule("npm_token", re.compile(_B + r"npm_[A-Za-z0-9]{36}" + _E), validator=lambda v: random_key(v[4:]),
               hints=("npm_",)),
    SecretRule("pypi_token", re.compile(_B + r"pypi-AgE[A-Za-z0-9_-]{50,}" + _E), hints=("pypi-",)),
    SecretRule("jwt", re.compile(_B + r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}" + _E),
               validator=jwt_header, hints=("eyj",)),
    # a long random value a few words after "key", "token", "password"...: "the API key is 9f2c..."
    SecretRule(KEYWORD_RULE, re.compile(
        rf"(?i:\b(?:{_KEYWORDS})\b)[^\n.!?]{{0,30}}?[\s:=\"'`(]"
        r"(?P<secret>[A-Za-z0-9+/_.~=-]{15,255}[A-Za-z0-9+/_~=-])(?![A-Za-z0-9+/_~=-])"), validator=high_entropy,
        hints=KEYWORD_HINTS),
)


class SecretBackend(Protocol):
    """An extra source of secret findings: (rule, start, end) for each."""

    def spans(self, text: str) -> list[tuple[str, int, int]]: ...


@dataclass
class SecretDetector:
    """Finds secrets by their shape; allowlisted values (a documented example key) are let through."""

    rules: tuple[SecretRule, ...] = BUILTIN_RULES
    allowlist: Allowlist = field(default_factory=Allowlist)
    backend: SecretBackend | None = None

    @classmethod
    def from_settings(cls, secrets: Any) -> "SecretDetector":
        """The detector ``[tool.llmops.secrets]`` describes (a ``pii.settings.SecretSettings``)."""
        backend = None
        if secrets.backend == "detect-secrets":
            from .detect_secrets_backend import DetectSecretsBackend

            backend = DetectSecretsBackend.load()
        return cls(allowlist=Allowlist.from_entries(secrets.allowlist), backend=backend)

    def __post_init__(self) -> None:
        # one search for every rule's hints: most texts hold none, and skip every rule at once
        gated = all(rule.hints for rule in self.rules)
        hints = {hint for rule in self.rules for hint in rule.hints}
        self._hints = any_of(hints) if gated and hints else None
        self._could_hold = self._hints.search if self._hints is not None else None
        # screened many texts at once (see screen): only when no hint could join two texts
        self._screens = self._hints is not None and not any(SEPARATOR in hint for hint in hints)
        self._screened: dict[str, bool] = {}

    def screen(self, texts: Sequence[str], like: "SecretDetector | None" = None) -> None:
        """Search ``texts`` for the rules' hints at once (see :mod:`.screen`), for the next calls about them;
        ``like`` screened the same texts just now (its answers are taken when the hints are the same)."""
        if like is not None and like is not self and like._screens and self._screens and like._hints == self._hints:
            self._screened = like._screened
        elif self._screens:
            self._screened = dict(zip(texts, could_hold_each(texts, (), (self._hints,), fold=hint_text)))

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        hinted = self._screened.get(text)
        lowered = "" if hinted is False else hint_text(text)
        if hinted is None and self._could_hold is not None:
            hinted = self._could_hold(lowered) is not None
        if hinted is False:
            spans = []
        else:
            spans = [(start, end, rule.name) for rule in self.rules for start, end in rule.spans(text, lowered)]
        if self.backend is not None:
            spans.extend((start, end, rule) for rule, start, end in self.backend.spans(text))
        return spans

    def find(self, text: str) -> list[SecretFinding]:
        """Every secret in ``text``, in order, without overlaps (the longest wins)."""
        if not text:
            return []
        spans = self._spans(text)
        if not spans:
            return []
        # at the same start a named format wins over the generic keyword rule, then the longer span
        ordered = sorted(spans, key=lambda span: (span[0], span[2] == KEYWORD_RULE, -span[1]))
        return [SecretFinding(SECRET_KIND, start, end, text[start:end], rule=rule)
                for start, end, rule in kept_spans(text, ordered, self.allowlist)]

    def rules_found(self, text: str) -> list[str]:
        """The formats of the secrets in ``text``, sorted, each once (what a failure line names)."""
        return sorted({finding.rule for finding in self.find(text)})


def rule_names(rules: Iterable[SecretRule] = BUILTIN_RULES) -> list[str]:
    """The built-in formats, as docs/probes.md lists them."""
    return [rule.name for rule in rules]
