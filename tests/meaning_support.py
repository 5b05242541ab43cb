"""Helpers for the judge, similarity, tool-call and token tests: serve-stub servers as bot, judge and embedder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from pytest_llmops.cases import load_case_file
from pytest_llmops.checks.judge import JUDGE_MARKER
from pytest_llmops.errors import CaseFileError
from pytest_llmops.targets.stub import StubBehaviour
from pytest_llmops.targets.stub_server import ServerFaults, StubServer


@pytest.fixture
def serve_stub() -> Iterator[Callable[..., StubServer]]:
    """Start ``llmops serve-stub``'s server on 127.0.0.1 (port 0) with stub behaviour and fault options."""
    servers: list[StubServer] = []

    def start(model: str = "llmops-stub", **options: Any) -> StubServer:
        behaviour = StubBehaviour(**{k: v for k, v in options.items() if k in StubBehaviour.model_fields})
        faults = ServerFaults(**{k: v for k, v in options.items() if k in ServerFaults.model_fields})
        unknown = set(options) - set(StubBehaviour.model_fields) - set(ServerFaults.model_fields)
        assert not unknown, f"not a serve-stub option: {unknown}"
        server = StubServer(behaviour, faults, model=model).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def toml_value(value: Any) -> str:
    """``value`` written as TOML (inline tables for mappings)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return json.dumps(value)


def openai_target(name: str, server: StubServer, model: str = "acme-1", **extra: Any) -> str:
    """A ``[tool.llmops.targets.NAME]`` table of type openai pointing at ``server``."""
    lines = [f"[tool.llmops.targets.{name}]", 'type = "openai"', f'base_url = "{server.url}/v1"', f'model = "{model}"']
    lines += [f"{key} = {toml_value(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def judge_toml(server: StubServer, *, mask_pii: bool | None = None, embeddings: bool = False, **extra: Any) -> str:
    """Settings that make ``server`` the judge (and the embedder, with ``embeddings``)."""
    text = openai_target("grader", server, model="judge-1", **extra)
    text += '[tool.llmops.judge]\ntarget = "grader"\n'
    if mask_pii is not None:
        text += f"mask_pii = {'true' if mask_pii else 'false'}\n"
    if embeddings:
        text += '[tool.llmops.embeddings]\ntarget = "grader"\n'
    return text


def bodies(server: StubServer) -> list[dict[str, Any]]:
    """Every JSON request body ``server`` received, parsed."""
    return [json.loads(raw) for raw in list(server.bodies) if raw]


def judge_bodies(server: StubServer) -> list[dict[str, Any]]:
    """The judge requests among them (their first message is the judge prompt)."""
    return [body for body in bodies(server)
            if body.get("messages") and str(body["messages"][0].get("content", "")).startswith(JUDGE_MARKER)]


def check_of(record: dict[str, Any], name: str, turn: int = 1) -> dict[str, Any]:
    """The check called ``name`` of turn ``turn`` in a case record (as the results JSON holds it)."""
    return next(check for check in record["turns"][turn - 1]["checks"] if check["check"] == name)


def case_file_problems(path: Path, text: str) -> str:
    """The CaseFileError loading ``text`` as the case file ``path`` raises (failing if it loads)."""
    path.write_text(text)
    with pytest.raises(CaseFileError) as caught:
        load_case_file(path)
    return str(caught.value)


SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "results.schema.json"


def validate_results(path: Path) -> dict[str, Any]:
    """The results file at ``path``, validated against the published JSON Schema."""
    import jsonschema

    document = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    return document
