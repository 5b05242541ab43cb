"""The pytest plugin's entry point (``pytest11: llmops``): its options, and the switch to the rest.

pytest imports this module in every run of every project where pytest-llmops is
installed, ``--llmops`` or not, so it imports nothing heavy: the case model, the checks,
pydantic's models and the session hooks (:mod:`.session`) load only when ``--llmops`` is
given. Without it, this module only says when our options or our case folder are used
without ``--llmops``.
"""

from __future__ import annotations

import pytest

from ..probes import PROBE_CATEGORIES
from .invocation import rootdir_problem


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmops", "pytest-llmops: chatbot conversation cases")
    group.addoption("--llmops", action="store_true", default=False,
                    help="collect YAML conversation cases (from cases_dir, default eval_cases/) and replay them.")
    group.addoption("--llmops-target", metavar="NAME", default=None,
                    help="target to replay against: 'stub' (built-in bot) or a [tool.llmops.targets.NAME] entry.")
    group.addoption("--llmops-cases", metavar="DIR", default=None,
                    help="folder of case files, relative to the project root (overrides cases_dir).")
    group.addoption("--llmops-concurrency", metavar="N", type=int, default=None,
                    help="conversations replayed at once (overrides concurrency; default 8).")
    group.addoption("--llmops-max-latency-ms", metavar="MS", type=float, default=None,
                    help="default latency limit per reply in milliseconds (overrides max_latency_ms; default 5000).")
    group.addoption("--llmops-timeout", metavar="SECONDS", type=float, default=None,
                    help="give up on a reply after this many seconds (overrides timeout_s; default 30).")
    group.addoption("--llmops-results", metavar="PATH", default=None,
                    help="write the run (every case, turn and check, plus the summary) as JSON to PATH; "
                         "see docs/results.md.")
    group.addoption("--llmops-repeat", metavar="N", type=int, default=None,
                    help="replay every case N times (overrides each case's repeat; a case's min_pass keeps its "
                         "share of runs); see docs/cases.md.")
    group.addoption("--llmops-record", metavar="DIR", default=None,
                    help="record every exchange into cassettes under DIR (secrets removed, personal data masked).")
    group.addoption("--llmops-replay", metavar="DIR", default=None,
                    help="replay offline from the cassettes under DIR; latency is judged on recorded latencies.")
    group.addoption("--llmops-record-missing", action="store_true", default=False,
                    help="with --llmops-replay: send cases or turns with no recording live and add them to DIR.")
    group.addoption("--llmops-record-pii", action="store_true", default=False,
                    help="keep personal data in recorded cassettes as the bot said it (default: masked).")
    group.addoption("--llmops-probes", metavar="LIST", default=None,
                    help="also run the shipped safety probes: 'all' or categories, comma-separated "
                         f"({', '.join(PROBE_CATEGORIES)}); see docs/probes.md.")
    group.addoption("--llmops-no-cache", action="store_true", default=False,
                    help="ask the judge and the embedder again instead of reusing cached verdicts and vectors "
                         "(cache_dir, default .llmops-cache/).")


def _check_without_llmops(config: pytest.Config) -> None:
    """A run without ``--llmops``: our options need it, and our case folder means nothing to pytest alone."""
    for option in ("results", "probes"):
        if config.getoption(f"llmops_{option}") is not None:
            raise pytest.UsageError(f"pytest-llmops: --llmops-{option} needs --llmops")
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return
    from ..config import load_settings  # only for a bare `pytest`: our case folder must not be collected alone
    from ..errors import ConfigError
    from .invocation import cases_without_llmops_problem

    try:
        cases_path = load_settings(config.rootpath).cases_path
    except ConfigError:
        return  # settings only matter with --llmops, where their error is reported
    problem = cases_without_llmops_problem(config, cases_path)
    if problem:
        raise pytest.UsageError(f"pytest-llmops: {problem}")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    if config.getoption("llmops"):
        from . import gc_pacing  # light: gc and pytest only

        gc_pacing.prepare(config)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "llmops: a conversation case collected by pytest-llmops")
    problem = None if hasattr(config, "workerinput") else rootdir_problem(config)
    if problem:
        raise pytest.UsageError(f"pytest-llmops: {problem}")
    if not config.getoption("llmops"):
        _check_without_llmops(config)
        return
    from . import session  # the case model, the checks, the replay pool: only now

    session.start(config)
