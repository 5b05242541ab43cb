"""The ``llmops`` command: parses arguments and hands over to the engine, nothing more.

Each subcommand lives in its own module here with a ``register(subparsers)`` function;
add the module and the commands it registers to COMMAND_MODULES to make them appear. :mod:`.output`
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

#: each command module and the top-level commands it registers, in help order
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "pytest_llmops.cli.validate": ("validate",),
    "pytest_llmops.cli.gate": ("gate",),
    "pytest_llmops.cli.release": ("promote", "rollback"),
    "pytest_llmops.cli.serve_stub": ("serve-stub",),
    "pytest_llmops.cli.feedback": ("feedback",),
    "pytest_llmops.cli.cases": ("cases",),
    "pytest_llmops.cli.privacy": ("privacy",),
    "pytest_llmops.cli.monitor": ("monitor",),
    "pytest_llmops.cli.summary": ("summary",),
    "pytest_llmops.cli.probes": ("probes",),
    "pytest_llmops.cli.init": ("init",),
    "pytest_llmops.cli.schema": ("schema",),
}

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``llmops`` parser. Given the arguments, only the module of the command they name is imported
    (each module imports what its commands run: a command does not pay for the others' imports); without
    them, or for help and unknown names, every command is registered."""
    parser = argparse.ArgumentParser(prog="llmops", description="pytest-llmops: keep a chatbot safe, fast and correct.")
    parser.add_argument("--version", action="version", version=f"llmops (pytest-llmops) {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _modules_for(argv):
        importlib.import_module(name).register(subparsers)
    return parser


def _modules_for(argv: Sequence[str] | None) -> list[str]:
    """The command modules to register for ``argv``: the named command's alone when the first word names one."""
    words = list(argv or ())
    if words and not words[0].startswith("-"):
        named = [module for module, commands in COMMAND_MODULES.items() if words[0] in commands]
        if named:
            return named
    return list(COMMAND_MODULES)


def os_error_text(exc: OSError) -> str:
    """``path: reason`` for an OSError, as a person reads it."""
    reason = exc.strerror or str(exc) or exc.__class__.__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llmops`` console script; returns the exit code."""
    parser = build_parser(sys.argv[1:] if argv is None else argv)
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
