"""The pytest-html report and the terminal summary: transcripts, summary, xdist, and life without pytest-html."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from report_support import LEAKED_EMAIL, LEAKY_TOML, MIXED_SUITE, cases_by_id, read_json

REPORT_ARGS = ("--llmops", "-p", "no:cacheprovider", "--html=report.html", "--self-contained-html")


class _ReportParser(HTMLParser):
    """Finds pytest-html's data blob (every row, its cells and extras) and the static summary."""

    def __init__(self) -> None:
        super().__init__()
        self.blob: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id") == "data-container":
            self.blob = json.loads(values["data-jsonblob"] or "{}")


def report_rows(path: Path) -> dict[str, list[dict[str, Any]]]:
    parser = _ReportParser()
    parser.feed(path.read_text(encoding="utf-8"))
    assert parser.blob is not None, "no data blob in the report"
    return parser.blob["tests"]


def transcript_of(row: dict[str, Any]) -> str:
    [extra] = [extra for extra in row["extras"] if extra["format_type"] == "html"]
    return extra["content"]


def test_every_case_shows_its_whole_conversation(make_project) -> None:
    pytester = make_project(MIXED_SUITE, LEAKY_TOML)
    result = pytester.runpytest(*REPORT_ARGS)
    result.assert_outcomes(passed=1, failed=2)
    rows = report_rows(pytester.path / "report.html")
    assert sorted(rows) == ["eval_cases/mixed.yaml::greets", "eval_cases/mixed.yaml::leaks-email",
                            "eval_cases/mixed.yaml::refund-error"]
    refund = transcript_of(rows["eval_cases/mixed.yaml::refund-error"][0])
    assert "How long does a refund take?" in refund and "thanks" in refund  # both user turns
    assert "Turn 1" in refund and "Turn 2" in refund and " ms" in refund  # per-turn latency
    assert "Sorry, an error occurred while processing your request." in refund  # the bot's reply
    assert "error phrase &#x27;an error occurred&#x27; in reply" in refund  # the failed check's reason, escaped
    assert refund.count("<tr class=\"failed\">") == 1 and "<tr class=\"passed\">" in refund
    greets = transcript_of(rows["eval_cases/mixed.yaml::greets"][0])  # passing cases are there too
    assert "Hello" in greets and "Says hello back" in greets and "FAIL" not in greets
    cells = "".join(rows["eval_cases/mixed.yaml::leaks-email"][0]["resultsTableRow"])
    assert '<td class="col-llmopsTarget">leaky</td>' in cells and '<td class="col-llmopsFailed">1</td>' in cells
    assert rows["eval_cases/mixed.yaml::leaks-email"][0]["result"] == "Failed"  # pytest-html's filters see it


def test_summary_sits_on_top_of_the_report(make_project) -> None:
    pytester = make_project(MIXED_SUITE, LEAKY_TOML)
    pytester.runpytest(*REPORT_ARGS)
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    summary = page[page.index('<section class="llmops-summary">'):page.index("</section>")]
    assert "FAIL: 1 of 3 cases passed (33.3%)" in summary
    for expected in ("1 passed, 2 failed, 0 skipped, 0 errors (of 3)", "leaky (stub)", "not a git checkout",
                     "UTC", "<th>Concurrency</th><td>8</td>", "4, error rate 25.0%", "p50 ", "p95 ", "p99 ",
                     "max ", '<span class="llmops-bad">no_error 1</span>', '<span class="llmops-bad">email 1</span>',
                     "eval_cases/mixed.yaml::leaks-email</a>: no_pii"):
        assert expected in summary, expected
    assert "<title id=\"head-title\">Chatbot evaluation: report.html</title>" in page


def test_personal_data_never_reaches_the_report(make_project) -> None:
    pytester = make_project(MIXED_SUITE, LEAKY_TOML)
    pytester.runpytest(*REPORT_ARGS)
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    assert LEAKED_EMAIL not in page
    assert "Contact [EMAIL] for details." in page


@pytest.mark.parametrize("workers", ["0", "2"])
def test_xdist_report_and_results_hold_every_case_once(make_project, workers: str) -> None:
    suite = dict(MIXED_SUITE)
    suite["more.yaml"] = "cases:\n" + "".join(
        f"  - id: extra-{n}\n    turns: [{{user: 'Hello {n}'}}, {{user: 'What is my email address on file?'}}]\n"
        for n in range(6))
    pytester = make_project(suite, LEAKY_TOML)
    result = pytester.runpytest_subprocess(*REPORT_ARGS, "-n", workers, "--llmops-results=results.json")
    result.assert_outcomes(passed=1, failed=8)
    rows = report_rows(pytester.path / "report.html")
    assert len(rows) == 9 and all(len(entries) == 1 for entries in rows.values())
    assert all(transcript_of(entries[0]).count('class="llmops-turn ') >= 1 for entries in rows.values())
    doc = read_json(pytester.path / "results.json")
    assert sorted(case["nodeid"] for case in doc["cases"]) == sorted(rows)
    assert doc["summary"]["cases"] == 9 and doc["summary"]["turns"] == 16
    assert doc["summary"]["pii_findings"]["email"] == 7
    assert doc["run"]["workers"] == (2 if workers == "2" else None)
    assert len(cases_by_id(doc)["extra-3"]["turns"]) == 2
    result.stdout.fnmatch_lines(["*llmops summary*", "FAIL: 1/9 cases passed (11.1%), 8 failed*"])


def test_works_without_pytest_html(make_project) -> None:
    pytester = make_project(MIXED_SUITE, LEAKY_TOML)
    pytester.makeconftest("""
        import sys
        from pathlib import Path

        def pytest_unconfigure(config):
            loaded = [name for name in ("pytest_html.plugin", "pytest_llmops.plugin.html") if name in sys.modules]
            Path("modules.txt").write_text(str(loaded))
    """)
    result = pytester.runpytest_subprocess("--llmops", "-p", "no:cacheprovider", "-p", "no:html",
                                           "--llmops-results=results.json")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*llmops summary*", "FAIL: 1/3 cases passed*"])
    assert read_json(pytester.path / "results.json")["summary"]["failed"] == 2
    assert (pytester.path / "modules.txt").read_text() == "[]"  # neither pytest-html's plugin nor ours loaded
    result = pytester.runpytest_subprocess("--llmops", "-p", "no:cacheprovider", "-p", "no:html", "--html=x.html")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # without pytest-html, --html is pytest's own usage error


def test_terminal_summary_lines(make_project) -> None:
    pytester = make_project(MIXED_SUITE, LEAKY_TOML)
    result = pytester.runpytest("--llmops", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "*= llmops summary =*",
        "FAIL: 1/3 cases passed (33.3%), 2 failed, 0 skipped, 0 errors",
        "target: leaky (stub); concurrency 8",
        "suite: eval_cases/, not a git checkout; ????-??-?? ??:??:?? UTC, * s",
        "turns: 4, error rate 25.0%; latency ms p50 *, p95 *, p99 *, max *",
        "failed checks: no_error 1, no_pii 1",
        "PII findings: email 1",
    ])
    assert "results:" not in result.stdout.str()
    assert LEAKED_EMAIL not in result.stdout.str()


def test_no_summary_without_llmops(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "llmops summary" not in result.stdout.str()


def test_environment_table_hides_secrets_and_personal_data(make_project, monkeypatch) -> None:
    # pytest-metadata copies CI variables into pytest-html's environment table, which inserts them as HTML.
    monkeypatch.setenv("GITLAB_USER_EMAIL", "dev.person@example.com")
    monkeypatch.setenv("CI_COMMIT_REF_NAME", "<img src=x onerror=alert(1)>")
    pytester = make_project(MIXED_SUITE, LEAKY_TOML)
    pytester.runpytest(*REPORT_ARGS, "--metadata", "api_token", "sk-SECRET-999", "--metadata", "owner", "QA team")
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    assert "dev.person@example.com" not in page and "sk-SECRET-999" not in page and "api_token" not in page
    parser = _EnvironmentParser()
    parser.feed(page)
    environment = parser.environment
    assert environment["GITLAB_USER_EMAIL"] == "[EMAIL]"
    assert environment["CI_COMMIT_REF_NAME"] == "&lt;img src=x onerror=alert(1)&gt;"  # shown as text
    assert environment["owner"] == "QA team"


class _EnvironmentParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.environment: dict[str, Any] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id") == "data-container":
            self.environment = json.loads(values["data-jsonblob"] or "{}")["environment"]


def test_test_ids_are_escaped_too(make_project) -> None:
    pytester = make_project({"odd<i>name.yaml": "cases:\n  - id: one\n    turns: [{user: Hello}]\n"}, "")
    pytester.runpytest(*REPORT_ARGS).assert_outcomes(passed=1)
    [row] = report_rows(pytester.path / "report.html")["eval_cases/odd<i>name.yaml::one"]
    cells = "".join(row["resultsTableRow"])
    assert '<td class="col-testId">eval_cases/odd&lt;i&gt;name.yaml::one</td>' in cells
    assert "<i>" not in cells
