"""The ``llmops`` command: parses arguments and hands over to the engine, nothing more.

Each subcommand lives in its own module here with a ``register(subparsers)`` function;
add a module's name to COMMAND_MODULES to make its commands appear. :mod:`.output`
keeps ``llmops ... | head`` quiet.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from .. import __version__
from ..errors import LlmopsError
from .output import EXIT_PIPE_CLOSED, discard_stdout
from ..text import terminal_safe, terminal_safe_lines

COMMAND_MODULES = [
    "pytest_llmops.cli.validate",
    "pytest_llmops.cli.gate",
    "pytest_llmops.cli.release",
    "pytest_llmops.cli.serve_stub",
    "pytest_llmops.cli.feedback",
    "pytest_llmops.cli.cases",
    "pytest_llmops.cli.privacy",
    "pytest_llmops.cli.monitor",
    "pytest_llmops.cli.summary",
    "pytest_llmops.cli.probes",
    "pytest_llmops.cli.init",
    "pytest_llmops.cli.schema",
]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmops", description="pytest-llmops: keep a chatbot safe, fast and correct.")
    parser.add_argument("--version", action="version", version=f"llmops (pytest-llmops) {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def os_error_text(exc: OSError) -> str:
    """``path: reason`` for an OSError, as a person reads it."""
    reason = exc.strerror or str(exc) or exc.__class__.__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llmops`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except LlmopsError as exc:
        print(f"llmops {args.command}: error: {terminal_safe_lines(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader of stdout went away (| head): stop quietly
        discard_stdout()
        return EXIT_PIPE_CLOSED
    except OSError as exc:  # a file that cannot be read or written: say which and why, never a traceback
        print(f"llmops {args.command}: error: {terminal_safe(os_error_text(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
