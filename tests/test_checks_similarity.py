"""The similar check end to end: serve-stub's /v1/embeddings as the embedder, a python callable, the stub."""

from __future__ import annotations

import json

import pytest
from meaning_support import bodies, check_of, judge_toml, openai_target, serve_stub  # noqa: F401 (a fixture)

from pytest_llmops.checks.similarity import cosine
from pytest_llmops.config import load_settings
from pytest_llmops.targets import build_target
from pytest_llmops.targets.stub_judge import embedding
from pytest_llmops.transcript import Conversation
from target_servers import RECORDER_CONFTEST, read_records

POLICY = "Refunds are processed within 5 business days."
SIMILAR = f"""
cases:
  - id: refund
    turns:
      - user: "How long does a refund take?"
        expect:
          similar: {{to: "{POLICY}", min: 0.4}}
  - id: shipping
    turns:
      - user: "How much is shipping?"
        expect:
          similar: {{to: "{POLICY}", min: 0.4}}
"""
EMBEDDINGS_TOML = '[tool.llmops.embeddings]\ntarget = "embedder"\n'


def run(make_project, toml: str, *args: str, cases: str = SIMILAR):
    project = make_project({"similar.yaml": cases}, toml)
    project.makeconftest(RECORDER_CONFTEST)
    return project, project.runpytest("--llmops", "-p", "no:cacheprovider", *args)


def test_a_paraphrase_scores_higher_than_unrelated_text():
    reference = embedding(POLICY)
    paraphrase = cosine(reference, embedding("Your refund is processed in five business days."))
    related = cosine(reference, embedding("Refunds reach your original payment method within 5-7 business days."))
    unrelated = cosine(reference, embedding("Standard shipping is free on orders over $50."))
    assert paraphrase > related > unrelated
    assert unrelated < 0.2 < related
    assert cosine(reference, embedding(POLICY.upper())) == pytest.approx(1.0)


def test_similarity_orders_replies_end_to_end_over_a_real_embeddings_endpoint(make_project, serve_stub):
    server = serve_stub()
    project, result = run(make_project, openai_target("embedder", server, model="embed-1") + EMBEDDINGS_TOML,
                          "--llmops-results=out.json")
    result.assert_outcomes(passed=1, failed=1)
    records = read_records(project.path)
    near, far = check_of(records["refund"], "similar"), check_of(records["shipping"], "similar")
    assert near["passed"] and not far["passed"] and near["score"] > 0.4 > far["score"]
    assert near["actual"] == f"similarity {near['score']:.3f}"
    assert far["expected"] == f"similar to '{POLICY}' >= 0.4"
    result.stdout.fnmatch_lines([f"*FAILED similar: expected similar to '{POLICY}' >= 0.4; got similarity 0.* < 0.4"])
    sent = [body for body in bodies(server)]
    assert all(body["model"] == "embed-1" for body in sent)
    assert sorted(text for body in sent for text in body["input"]) == sorted(server.embedded)
    assert POLICY in server.embedded and len(sent) == 2  # each case embeds its reply and the reference
    summary = json.loads((project.path / "out.json").read_text())["summary"]["tokens"]
    assert summary["embeddings"]["prompt_tokens"] == sum(len(text.split()) for text in server.embedded)
    assert summary["judge"] is None


def test_embeddings_are_cached_so_a_rerun_sends_nothing(make_project, serve_stub):
    server = serve_stub()
    project, result = run(make_project, openai_target("embedder", server) + EMBEDDINGS_TOML)
    result.assert_outcomes(passed=1, failed=1)
    first = server.requests
    assert len(list((project.path / ".llmops-cache" / "embeddings").rglob("*.json"))) == 3  # 2 replies, 1 reference
    project.runpytest("--llmops", "-p", "no:cacheprovider").assert_outcomes(passed=1, failed=1)
    assert server.requests == first


def test_a_python_callable_can_embed(make_project):
    project = make_project({"similar.yaml": SIMILAR}, '[tool.llmops.targets.embedder]\ntype = "python"\n'
                           'callable = "my_embedder:embed"\n' + EMBEDDINGS_TOML)
    project.makepyfile(my_embedder="""
        from pytest_llmops.targets.stub_judge import embedding
        CALLS = []
        def embed(texts):
            CALLS.append(list(texts))
            return [embedding(text) for text in texts]
    """)
    project.makeconftest(RECORDER_CONFTEST)
    project.runpytest("--llmops", "-p", "no:cacheprovider").assert_outcomes(passed=1, failed=1)
    assert check_of(read_records(project.path)["refund"], "similar")["usage"] is None  # a callable reports none


def test_the_stub_embeds_in_process(make_project):
    _, result = run(make_project, '[tool.llmops.embeddings]\ntarget = "stub"\n')
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["llmops: embeddings stub (stub); cache *"])


def test_what_is_sent_to_the_embedder_is_masked(make_project, serve_stub):
    server = serve_stub()
    cases = """
cases:
  - id: leaky
    expect: {no_pii: false}
    turns:
      - user: "How long does a refund take?"
        expect: {similar: {to: "Write to me at ann.lee@example.org", min: -1}}
"""
    run(make_project, openai_target("embedder", server) + EMBEDDINGS_TOML +
        '[tool.llmops.targets.leaky]\ntype = "stub"\nleak = "email"\n', "--llmops-target", "leaky",
        cases=cases)[1].assert_outcomes(passed=1)
    sent = b"".join(server.bodies).decode()
    assert "[EMAIL]" in sent and "@example" not in sent


def test_an_embedder_that_cannot_embed_or_fails_is_clear(make_project, serve_stub):
    http = '[tool.llmops.targets.embedder]\ntype = "http"\nurl = "http://127.0.0.1:9/chat"\n' + EMBEDDINGS_TOML
    result = run(make_project, http)[1]
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "[tool.llmops.embeddings] target 'embedder' is a http target, which cannot embed texts" in \
        result.stderr.str()

    broken = serve_stub(http_error_on="never-matches")
    broken.stop()  # nothing listens any more
    result = run(make_project, openai_target("embedder", broken) + EMBEDDINGS_TOML)[1]
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*FAILED similar: expected similar to * >= 0.4; got embedding error: connection: "
                                 "connection refused by 127.0.0.1:*"])


def test_a_case_using_similar_without_an_embedder_is_a_collection_error(make_project):
    result = make_project({"similar.yaml": SIMILAR}).runpytest("--llmops")
    assert "case 'refund': uses 'similar' but no embedder is configured" in result.stdout.str()


def test_the_embeddings_request_validates_against_the_official_openai_types(tmp_path, serve_stub):
    pytest.importorskip("openai")
    from openai.types.embedding_create_params import EmbeddingCreateParams
    from pydantic import TypeAdapter

    server = serve_stub()
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n" + openai_target("embedder", server, model="e-1"))
    target = build_target("embedder", load_settings(tmp_path))
    answer = target.embed(["one text", "another text"], Conversation())
    assert len(answer.vectors) == 2 and answer.usage.prompt_tokens == 4
    [body] = bodies(server)
    assert TypeAdapter(EmbeddingCreateParams).validate_python(body) == {"model": "e-1",
                                                                        "input": ["one text", "another text"]}
    target.close()


def test_judge_and_embedder_can_be_the_same_server(make_project, serve_stub):
    server = serve_stub()
    cases = SIMILAR.replace("min: 0.4}", "min: 0.4}\n          judge: \"Mentions refunds and business days.\"", 1)
    project, result = run(make_project, judge_toml(server, embeddings=True), cases=cases)
    result.assert_outcomes(passed=1, failed=1)
    assert check_of(read_records(project.path)["refund"], "judge")["passed"]
