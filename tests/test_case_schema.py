"""The case files' JSON Schema: generated from the case model, published as docs/cases.schema.json,
printed by ``llmops schema cases``, and in agreement with the loader on what a case file may hold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from pytest_llmops.cases import case_file_json_schema, case_files_in, load_case_file
from pytest_llmops.errors import CaseFileError

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "docs" / "cases.schema.json"
REGENERATE = "regenerate it with `llmops schema cases > docs/cases.schema.json`"

#: files the loader accepts, in the shapes people write (one string for a list, vars sets, repeats ...)
ACCEPTED = {
    "one-string-for-a-list": 'cases:\n  - id: a\n    turns:\n      - user: hi\n        expect: {contains: "x", '
                             'not_matches: "y", allow_pii: "1-800-555-0199"}\n',
    "allowlist-patterns": "cases:\n  - id: a\n    expect:\n      allow_pii: [{pattern: '.*@acme\\\\.example'}, x]\n"
                          "    turns: [{user: hi}]\n",
    "every-expect-key": "cases:\n  - id: a\n    turns:\n      - user: hi\n        expect: {contains: [a], "
                        "not_contains: [b], matches: [c], not_matches: [d], equals: e, max_latency_ms: 5, "
                        "max_ttft_ms: 2.5, no_pii: false, no_error: true}\n",
    "vars-sets-and-repeats": "defaults: {repeat: 3, min_pass_rate: 0.5, system: 'Hi {who}', target: bot, tags: [x]}\n"
                             "vars: [{who: A, n: 1}, {who: B, n: 2.5}]\n"
                             "cases:\n  - id: a.b-c_1\n    repeat: 2\n    min_pass: 1\n    vars: {extra: z}\n"
                             "    turns:\n      - user: '{who} {n} {extra}'\n        save: {ticket: 'T-(\\d+)'}\n"
                             "      - user: 'ticket {ticket}'\n",
}

#: files both the schema and the loader refuse, for one reason each
REFUSED = {
    "typo-in-expect": "cases:\n  - id: a\n    turns:\n      - user: hi\n        expect: {contian: [x]}\n",
    "typo-at-the-top": "case:\n  - id: a\n    turns: [{user: hi}]\n",
    "no-turns": "cases:\n  - id: a\n",
    "empty-turns": "cases:\n  - id: a\n    turns: []\n",
    "no-cases": "defaults: {tags: [x]}\n",
    "turns-is-text": "cases:\n  - id: a\n    turns: Hello\n",
    "empty-user": "cases:\n  - id: a\n    turns: [{user: ''}]\n",
    "negative-latency": "cases:\n  - id: a\n    turns: [{user: hi, expect: {max_latency_ms: -1}}]\n",
    "bool-for-text": "cases:\n  - id: a\n    turns: [{user: hi, expect: {equals: yes}}]\n",
    "id-with-space": "cases:\n  - id: a b\n    turns: [{user: hi}]\n",
    "repeat-zero": "cases:\n  - id: a\n    repeat: 0\n    turns: [{user: hi}]\n",
    "rate-above-one": "cases:\n  - id: a\n    min_pass_rate: 1.5\n    turns: [{user: hi}]\n",
    "list-of-numbers": "cases:\n  - id: a\n    turns: [{user: hi, expect: {contains: [1, 2]}}]\n",
}


def test_the_published_schema_is_the_models() -> None:
    assert json.loads(PUBLISHED.read_text()) == case_file_json_schema(), f"docs/cases.schema.json is stale: {REGENERATE}"


def test_llmops_schema_cases_prints_the_published_file_byte_for_byte(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "schema", "cases"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == PUBLISHED.read_text(), f"docs/cases.schema.json differs from the command's output: {REGENERATE}"


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(PUBLISHED.read_text()))


@pytest.mark.parametrize("path", case_files_in(ROOT / "eval_cases") + [ROOT / "pytest_llmops" / "starter" / "starter.yaml"],
                         ids=lambda path: path.name)
def test_every_shipped_case_file_matches_the_schema(path: Path) -> None:
    load_case_file(path)  # the loader accepts it ...
    jsonschema.validate(yaml.safe_load(path.read_text()), json.loads(PUBLISHED.read_text()))  # ... so must the schema


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_what_the_loader_accepts_the_schema_accepts(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(ACCEPTED[name])
    load_case_file(path)
    jsonschema.validate(yaml.safe_load(ACCEPTED[name]), case_file_json_schema())


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_the_schema_refuses_the_loader_refuses_too(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(REFUSED[name])
    with pytest.raises(CaseFileError):
        load_case_file(path)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(REFUSED[name]), case_file_json_schema())


def test_llmops_schema_feedback_prints_the_feedback_records_schema(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "schema", "feedback"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads((ROOT / "docs" / "feedback.schema.json").read_text())
