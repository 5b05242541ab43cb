"""``llmops monitor``: check interaction records (file, stdin, followed file) or simulated traffic.

Each interaction's JSON line goes to stdout and to the log file; diagnostics (bad
lines, rotation, alert delivery) and summaries go to stderr. The exit code says
whether a ``--fail-on`` condition was seen, for cron and CI.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from ..config import load_settings
from ..errors import ConfigError, StorageError
from ..jsonl import parse_line
from ..monitor.input import RawLine, follow_file, read_file, read_stream
from ..monitor.log import DIAGNOSTICS_LOGGER_NAME, console_handler, diagnostics_handler
from ..monitor.service import Monitor
from ..monitor.settings import MonitorSettings, monitor_settings, parse_conditions
from ..monitor.stats import format_summary
from .output import EXIT_PIPE_CLOSED, discard_stdout

EXIT_OK, EXIT_FLAGGED, EXIT_INTERRUPTED = 0, 1, 130


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "monitor", help="check live or logged chatbot interactions with the suite's own checks",
        description="Check interaction records (JSON Lines) with the same checks and [tool.llmops] settings "
                    "as the test suite; log each as one JSON line with personal data masked.")
    source = parser.add_argument_group("input")
    source.add_argument("paths", nargs="*", metavar="PATH",
                        help="JSON Lines files of interaction records; '-' or nothing reads stdin")
    source.add_argument("-f", "--follow", action="store_true",
                        help="keep reading PATH as it grows, like tail -F (survives rotation and truncation)")
    source.add_argument("--from-end", action="store_true", help="with --follow: skip what PATH already holds")
    source.add_argument("--map", action="append", default=[], metavar="FIELD=PATH",
                        help="read record FIELD from dotted PATH, e.g. --map reply=response.text (repeatable)")
    source.add_argument("--max-line-bytes", type=int, metavar="N",
                        help="longer lines are skipped and reported (default 1048576)")
    source.add_argument("--simulate", type=int, metavar="N",
                        help="instead of reading records, generate N interactions against a target and check them")
    source.add_argument("--target", metavar="NAME",
                        help="with --simulate: the target (default: the stub bot, misbehaving now and then)")
    source.add_argument("--seed", type=int, help="with --simulate: make the traffic repeatable")
    source.add_argument("--concurrency", type=int, metavar="N",
                        help="with --simulate: conversations at once (default: concurrency in [tool.llmops], 8)")
    output = parser.add_argument_group("output")
    output.add_argument("--log-file", metavar="PATH",
                        help="JSON Lines log (default chatbot_monitoring.log; with --simulate: none unless given)")
    output.add_argument("--no-log-file", action="store_true", help="write no log file")
    output.add_argument("--log-max-bytes", type=int, metavar="N",
                        help="rotate the log to LOG.1, LOG.2 ... once it reaches N bytes (keeps log_backups, 5)")
    output.add_argument("-q", "--quiet", action="store_true", help="do not print each interaction on stdout")
    output.add_argument("--summary-every", type=float, metavar="SECONDS",
                        help="print a summary of the last SECONDS to stderr every SECONDS (always one at exit)")
    output.add_argument("--fail-on", metavar="LIST",
                        help="exit 1 if any of these were seen: pii, error, latency, content, bad_input, any")
    output.add_argument("--alert-webhook", metavar="URL",
                        help="POST a JSON alert to URL on alertable findings (see alert_on; retried on failure)")
    output.add_argument("--alert-on", metavar="LIST", help="what triggers an alert (default pii,error)")
    output.add_argument("--alert-cooldown", type=float, metavar="SECONDS",
                        help="at most one alert per SECONDS; findings in between are sent together (default 60)")
    output.add_argument("--metrics-port", type=int, metavar="PORT",
                        help="serve Prometheus metrics on PORT (0: any free port; needs the 'monitor' extra)")
    output.add_argument("--metrics-host", metavar="HOST", help="address to serve metrics on (default 127.0.0.1)")
    parser.set_defaults(handler=run)


def _field_map(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    mapping = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ConfigError(f"--map {pair!r}: expected FIELD=PATH, e.g. reply=response.text")
        mapping[name.strip()] = path.strip()
    return mapping


def _conditions(text: str | None, option: str) -> list[str] | None:
    if text is None:
        return None
    try:
        return parse_conditions(text)
    except ValueError as exc:
        raise ConfigError(f"{option}: {exc}") from None


#: [tool.llmops.monitor] key -> the flag that overrides it (a bad value is blamed on the flag)
MONITOR_FLAGS = {"fields": "--map", "max_line_bytes": "--max-line-bytes", "summary_every_s": "--summary-every",
                 "fail_on": "--fail-on", "alert_on": "--alert-on", "alert_webhook": "--alert-webhook",
                 "alert_cooldown_s": "--alert-cooldown", "metrics_port": "--metrics-port",
                 "metrics_host": "--metrics-host", "log_file": "--log-file", "log_max_bytes": "--log-max-bytes"}


def _options(args: argparse.Namespace, settings: Any) -> MonitorSettings:
    fields = _field_map(args.map)
    overrides: dict[str, Any] = {
        "fields": {**settings.monitor.fields, **fields} if fields else None,
        "max_line_bytes": args.max_line_bytes,
        "summary_every_s": args.summary_every,
        "fail_on": _conditions(args.fail_on, "--fail-on"),
        "alert_on": _conditions(args.alert_on, "--alert-on"),
        "alert_webhook": args.alert_webhook,
        "alert_cooldown_s": args.alert_cooldown,
        "metrics_port": args.metrics_port,
        "metrics_host": args.metrics_host,
        "log_file": args.log_file,
        "log_max_bytes": args.log_max_bytes,
    }
    options = monitor_settings(settings, overrides, MONITOR_FLAGS)
    # A simulation is a demo: it never writes the production log unless --log-file says where.
    if args.no_log_file or (args.simulate is not None and args.log_file is None):
        options = options.model_copy(update={"log_file": None})
    return options


def _check_not_own_log(args: argparse.Namespace, options: MonitorSettings, root: Path) -> None:
    """Reading the log being written would feed the monitor its own output, forever."""
    if not options.log_file:
        return
    log = (root / options.log_file).resolve()
    for path in args.paths:
        if path != "-" and Path(path).resolve() == log:
            raise ConfigError(f"{path} is the monitor's own log file; choose another --log-file or --no-log-file")


def _check_sources(args: argparse.Namespace) -> None:
    if args.simulate is not None:
        if args.paths or args.follow:
            raise ConfigError("--simulate generates its own traffic: give no PATH and no --follow")
        if args.simulate < 1:
            raise ConfigError("--simulate N: N must be at least 1")
        if args.concurrency is not None and not 1 <= args.concurrency <= 1024:
            raise ConfigError("--concurrency N: N must be from 1 to 1024")
        return
    if args.target or args.seed is not None or args.concurrency is not None:
        raise ConfigError("--target, --seed and --concurrency only apply to --simulate")
    if args.follow and (len(args.paths) != 1 or args.paths[0] == "-"):
        raise ConfigError("--follow needs exactly one file PATH (stdin is read until it ends anyway)")
    for path in args.paths:
        if path == "-":
            continue
        if args.follow and Path(path).exists() and not Path(path).is_file():
            raise ConfigError(f"{path}: not a file")
        if not args.follow and not Path(path).is_file():  # a followed file may come later
            raise ConfigError(f"{path}: no such file")


def _listeners(options: MonitorSettings) -> list[Any]:
    listeners: list[Any] = []
    try:
        if options.metrics_port is not None:
            from ..monitor.metrics import PrometheusMetrics

            metrics = PrometheusMetrics(options.metrics_port, options.metrics_host)
            print(f"llmops monitor: metrics on {metrics.url}", file=sys.stderr, flush=True)
            listeners.append(metrics)
        if options.alert_webhook:
            from ..monitor.alerts import WebhookAlerter

            listeners.append(WebhookAlerter(options.alert_webhook, options.alert_on,
                                            cooldown_s=options.alert_cooldown_s, retries=options.alert_retries,
                                            timeout_s=options.alert_timeout_s))
    except BaseException:
        for listener in listeners:
            listener.close()
        raise
    return listeners


class _SummaryTicker:
    """Prints the summary of each period of ``every`` seconds to stderr, from a background thread."""

    def __init__(self, monitor: Monitor, every: float | None):
        self.monitor = monitor
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llmops-monitor-summary", daemon=True)
        if every:
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            period = self.monitor.take_period().summary()
            print(format_summary(period, f"last {self.every:g} s"), file=sys.stderr, flush=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


BATCH_LINES = 1000  # lines decoded and screened together, at most (see Monitor.observe_records)


def _check_lines(monitor: Monitor, lines: Iterator[RawLine], max_bytes: int, stop: threading.Event) -> None:
    """Check every line in order; lines are taken in batches of what is ready (never waiting to fill one)."""
    batch: list[RawLine] = []
    for line in lines:
        if stop.is_set():
            return
        batch.append(line)
        if line.last_ready or len(batch) >= BATCH_LINES:
            if not _check_batch(monitor, batch, max_bytes, stop):
                return
            batch = []
    _check_batch(monitor, batch, max_bytes, stop)


def _check_batch(monitor: Monitor, lines: list[RawLine], max_bytes: int, stop: threading.Event) -> bool:
    """Decode ``lines`` and hand them to the monitor in order; False when ``stop`` ended it."""
    decoded: list[tuple[str, dict[str, Any] | str]] = []
    for line in lines:
        raw = line.raw
        if raw is None:
            decoded.append((line.where, f"line too long ({line.length} bytes > {max_bytes})"))
            continue
        if not raw.strip():
            continue
        parsed = parse_line(line.number, raw)
        if parsed.record is None:
            decoded.append((line.where, parsed.bad.reason if parsed.bad else "unreadable"))
        else:
            decoded.append((line.where, parsed.record))
    return monitor.observe_records(decoded, stop.is_set)


def _install_stop_signals(stop: threading.Event, following: bool) -> dict[int, Any]:
    """SIGINT/SIGTERM end a follow cleanly; otherwise they interrupt the read at once."""

    def handle(signum: int, frame: Any) -> None:
        already = stop.is_set()
        stop.set()
        if not following or already:
            raise KeyboardInterrupt

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handle)
    return previous


def _feed(monitor: Monitor, args: argparse.Namespace, options: MonitorSettings, stop: threading.Event) -> None:
    max_bytes = options.max_line_bytes
    if args.simulate is not None:
        from ..monitor.simulate import simulate, simulation_target

        target = simulation_target(monitor.settings, args.target)
        concurrency = args.concurrency or monitor.settings.concurrency
        try:
            simulate(monitor, target, args.simulate, seed=args.seed, concurrency=concurrency, should_stop=stop.is_set)
        finally:
            target.close()
        return
    if args.follow:
        log = logging.getLogger(DIAGNOSTICS_LOGGER_NAME)
        log.info("following %s (stop with Ctrl-C or SIGTERM)", args.paths[0])
        _check_lines(monitor, follow_file(args.paths[0], max_bytes, stop, from_end=args.from_end,
                                          on_idle=monitor.flush, on_event=log.info), max_bytes, stop)
        return
    for path in args.paths or ["-"]:
        if stop.is_set():
            return
        if path == "-":
            if sys.stdin.isatty():
                print("llmops monitor: reading interaction records (JSON Lines) from standard input; end with "
                      "Ctrl-D, or give a file (llmops monitor --help)", file=sys.stderr, flush=True)
            _check_lines(monitor, read_stream(sys.stdin.buffer, "<stdin>", max_bytes), max_bytes, stop)
            continue
        try:
            _check_lines(monitor, read_file(path, max_bytes), max_bytes, stop)
        except OSError as exc:  # unreadable, or gone mid-read: say so, go on with the next file
            monitor.bad_input(path, f"cannot read: {exc.strerror or exc}")


def run(args: argparse.Namespace) -> int:
    _check_sources(args)
    settings = load_settings()
    options = _options(args, settings)
    _check_not_own_log(args, options, Path(settings.root))
    diagnostics = logging.getLogger(DIAGNOSTICS_LOGGER_NAME)
    handler = diagnostics_handler()
    saved = diagnostics.level, diagnostics.propagate
    diagnostics.addHandler(handler)
    diagnostics.setLevel(logging.INFO)
    diagnostics.propagate = False
    monitor = None
    stop = threading.Event()
    try:
        listeners = _listeners(options)
        monitor = Monitor(settings, options, console=False, listeners=listeners,
                          logger_name="pytest_llmops.monitor.cli")
        # The command owns the output: -q means the summary only. Without any handler, Python's
        # last-resort handler would print every flagged interaction on stderr.
        monitor.logger.propagate = False
        monitor.add_handler(logging.NullHandler())
        console = None
        if options.console and not args.quiet:
            console = console_handler(on_closed=stop.set)  # stdout closed (| head): stop reading, quietly
            monitor.add_handler(console)
        for listener in listeners:
            if hasattr(listener, "summary"):
                listener.summary = monitor.stats.summary
        code = _monitor(monitor, args, options, stop, stdout_closed=lambda: bool(console and console.closed))
        if code == EXIT_PIPE_CLOSED:
            discard_stdout()  # what is still buffered must not raise at exit either
        return code
    finally:
        if monitor is not None:
            monitor.close()
        diagnostics.removeHandler(handler)
        diagnostics.level, diagnostics.propagate = saved


def _monitor(monitor: Monitor, args: argparse.Namespace, options: MonitorSettings, stop: threading.Event,
             stdout_closed: Callable[[], bool]) -> int:
    previous = _install_stop_signals(stop, following=args.follow)
    ticker = _SummaryTicker(monitor, options.summary_every_s)
    interrupted = False
    try:
        _feed(monitor, args, options, stop)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        ticker.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        monitor.close()
    if stdout_closed():
        return EXIT_PIPE_CLOSED  # the reader went away: end as quietly as `cat | head` would
    print(format_summary(monitor.stats.summary(), "summary"), file=sys.stderr, flush=True)
    if monitor.log_path is not None:
        print(f"llmops monitor: log in {monitor.log_path}", file=sys.stderr)
    elif args.simulate is not None:
        print("llmops monitor: simulated traffic is not logged (--log-file=PATH writes it)", file=sys.stderr)
    lost, reason = monitor.unwritten()
    if lost:
        raise StorageError(f"{lost} interaction record(s) could not be written to {monitor.log_path}: {reason} "
                           "(the lines it holds are whole)")
    if interrupted:
        return EXIT_INTERRUPTED
    seen = [condition for condition in options.fail_on if monitor.seen(condition)]
    if seen:
        print(f"llmops monitor: failing: seen {', '.join(seen)} (--fail-on {','.join(options.fail_on)})",
              file=sys.stderr)
        return EXIT_FLAGGED
    return EXIT_OK
