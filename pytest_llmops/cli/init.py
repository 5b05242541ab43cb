"""``llmops init``: set up pytest-llmops in the current folder (see :mod:`pytest_llmops.starter`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import ConfigError
from ..starter import KINDS, TARGET_NAME, TargetChoice, apply, plan

#: the options each kind of target takes from the command line: flag dest -> option name
_TARGET_FLAGS = {
    "openai": {"base_url": "--base-url", "model": "--model", "api_key_env": "--api-key-env"},
    "http": {"url": "--url", "api_key_env": "--api-key-env"},
    "python": {"callable": "--callable"},
}
_REQUIRED = {"openai": ("base_url", "model"), "http": ("url",), "python": ("callable",)}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "init", help="set up pytest-llmops here: [tool.llmops], starter cases, .gitignore (and a CI workflow)",
        description="Set up pytest-llmops in the current folder: a [tool.llmops] section in pyproject.toml "
                    "(created if needed; an existing section is left alone), starter cases that pass against the "
                    "built-in stub bot, the case files' JSON Schema and .gitignore entries. Nothing that exists "
                    "is overwritten; running it again changes nothing.")
    parser.add_argument("--dir", type=Path, default=Path("."), metavar="PATH",
                        help="the project folder (default: the current one)")
    target = parser.add_argument_group("your chatbot (filled in as [tool.llmops.targets.chatbot])")
    target.add_argument("--target", choices=KINDS, metavar="KIND",
                        help=f"the kind of chatbot: {', '.join(KINDS)}")
    target.add_argument("--base-url", metavar="URL", help="openai: the API's base URL, e.g. http://127.0.0.1:8000/v1")
    target.add_argument("--model", metavar="NAME", help="openai: the model name")
    target.add_argument("--api-key-env", metavar="VAR",
                        help="openai, http: the environment variable holding the API key (never the key itself)")
    target.add_argument("--url", metavar="URL", help="http: the JSON endpoint's URL")
    target.add_argument("--callable", metavar="MODULE:FUNCTION", help="python: the function that replies")
    parser.add_argument("--ci", choices=["github"], help="also write a CI workflow (GitHub Actions) that replays "
                                                         "the cases and keeps the HTML report")
    parser.set_defaults(handler=run)


def _choice(args: argparse.Namespace) -> TargetChoice | None:
    given = {dest for flags in _TARGET_FLAGS.values() for dest in flags if getattr(args, dest) is not None}
    if args.target is None:
        if given:
            raise ConfigError(f"{', '.join(sorted('--' + d.replace('_', '-') for d in given))}: "
                              f"say which kind of chatbot with --target ({', '.join(KINDS)})")
        return None
    allowed = _TARGET_FLAGS[args.target]
    stray = sorted(given - set(allowed))
    if stray:
        raise ConfigError(f"--target {args.target} does not take {', '.join('--' + d.replace('_', '-') for d in stray)}")
    missing = [allowed[dest] for dest in _REQUIRED[args.target] if getattr(args, dest) is None]
    if missing:
        raise ConfigError(f"--target {args.target} needs {' and '.join(missing)}")
    return TargetChoice(args.target, {dest: getattr(args, dest) for dest in allowed if getattr(args, dest) is not None})


def run(args: argparse.Namespace) -> int:
    root = args.dir.resolve()
    if not root.is_dir():
        raise ConfigError(f"--dir {args.dir}: no such folder")
    choice = _choice(args)
    changes = plan(root, choice, args.ci)
    apply(changes)
    written = [change for change in changes if change.writes]
    shown = os.path.relpath(root) if root != Path.cwd().resolve() else "."
    if not written:
        print(f"llmops init: nothing to do in {shown}: everything it writes is already there")
    else:
        print(f"llmops init: set up pytest-llmops in {shown}")
    for change in changes:
        print(f"  {change.path.relative_to(root)}: {change.note}")
    if written:
        print("Next:")
        print("  pytest --llmops            # replay the starter cases against the built-in stub bot")
        if choice is not None:
            print(f"  pytest --llmops --llmops-target={TARGET_NAME}   # ... against your chatbot")
        print("  llmops validate            # check case files without replaying them")
    return 0
