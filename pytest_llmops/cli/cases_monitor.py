"""``llmops cases from-monitor-log``: flagged interactions in the monitor log -> regression cases."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import jsonl
from ..config import load_settings
from ..errors import ConfigError
from ..checks.names import CATEGORIES
from ..convert.from_monitor import candidates_from_monitor_log
from ..monitor.rotation import log_files
from ..monitor.settings import DEFAULT_LOG_FILE, monitor_settings, parse_conditions
from ..pii.storage import storage_detector
from .cases import EXIT_STRICT, add_writer_options, report_bad_lines, write_and_report


def register(group: argparse._SubParsersAction) -> None:
    parser = group.add_parser(
        "from-monitor-log", help="turn flagged interactions in the monitor log into regression cases",
        description="Write one regression case per distinct (conversation, rule) among the interactions the "
                    "monitor flagged: pii -> no_pii, secret -> no_secrets, error -> no_error, "
                    "latency -> max_latency_ms, content -> "
                    "the monitor's own rule. Each case replays the conversation's user turns up to the flagged "
                    "one (masked as logged). Cases are tagged from-monitor and needs-review; running twice "
                    "writes nothing new.")
    parser.add_argument("logs", nargs="*", type=Path, metavar="LOG",
                        help="monitor logs, oldest first (default: the log_file of [tool.llmops.monitor], "
                             "chatbot_monitoring.log, with its rotated siblings .N)")
    add_writer_options(parser)
    parser.add_argument("--only", metavar="LIST", default=None,
                        help=f"finding categories to convert (default: all of {','.join(CATEGORIES)})")
    parser.add_argument("--max-latency-ms", type=float, default=None, metavar="MS",
                        help="latency limit for cases from slow replies (default: max_latency_ms of the project)")
    parser.set_defaults(handler=run)


def _only(text: str | None) -> list[str]:
    if text is None:
        return list(CATEGORIES)
    try:
        names = parse_conditions(text)
    except ValueError as exc:
        raise ConfigError(f"--only: {exc}") from None
    unknown = [name for name in names if name not in CATEGORIES]
    if unknown:
        raise ConfigError(f"--only: {', '.join(unknown)} is not a finding category ({', '.join(CATEGORIES)})")
    return names


@jsonl.collector_paused()  # many log entries and candidates, no cycles: no collection walks them all
def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    options = monitor_settings(settings)
    only = _only(args.only)
    if args.logs:
        missing = [str(path) for path in args.logs if not path.is_file()]
        if missing:
            raise ConfigError(f"no such log file: {', '.join(missing)}")
        paths = list(args.logs)
    else:
        default = Path(settings.root) / (options.log_file or DEFAULT_LOG_FILE)
        paths = log_files(default)
        if not paths:
            raise ConfigError(f"{default}: no monitor log (run llmops monitor first, or name the log)")
    max_latency = args.max_latency_ms if args.max_latency_ms is not None else settings.max_latency_ms
    candidates, skipped, bad = candidates_from_monitor_log(paths, options, max_latency, only)
    stop = False
    for path in paths:
        stop |= report_bad_lines(path, [line for source, line in bad if source == path], args.strict)
    if stop:
        return EXIT_STRICT
    if not candidates and not skipped:
        print(f"no flagged interactions in {', '.join(str(path) for path in paths)}", file=sys.stderr)
    return write_and_report(candidates, skipped, args, settings, storage_detector(settings), malformed=len(bad))
