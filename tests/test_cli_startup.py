"""``llmops NAME`` imports NAME's command module only: a command does not pay for every other command's imports."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys

import pytest

from pytest_llmops.cli import COMMAND_MODULES, build_parser


def test_every_module_registers_exactly_the_commands_listed_for_it() -> None:
    for module, commands in COMMAND_MODULES.items():
        parser = argparse.ArgumentParser()
        subparsers = parser.add_subparsers()
        importlib.import_module(module).register(subparsers)
        assert tuple(subparsers.choices) == commands, module


def test_without_arguments_or_with_an_unknown_command_every_command_is_registered() -> None:
    every = [name for commands in COMMAND_MODULES.values() for name in commands]
    for argv in (None, [], ["--help"], ["nosuchcommand"], ["-x", "cases"]):
        subparsers = next(action for action in build_parser(argv)._actions
                          if isinstance(action, argparse._SubParsersAction))
        assert list(subparsers.choices) == every, argv


@pytest.mark.parametrize("argv", [["cases", "from-feedback", "--help"], ["cases", "from-monitor-log", "--help"]])
def test_a_cases_command_imports_neither_the_gate_nor_the_servers_nor_the_monitor_engine(argv: list[str]) -> None:
    code = ("import sys; from pytest_llmops.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('MODULES ' + __import__('json').dumps(sorted(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage: llmops cases" in result.stdout
    loaded = set(json.loads(result.stdout.rsplit("MODULES ", 1)[1]))
    assert "pytest_llmops.cli.cases" in loaded
    unused = {"pytest_llmops.release.gate", "pytest_llmops.targets.stub_server", "pytest_llmops.privacy.operations",
              "pytest_llmops.monitor.service", "pytest_llmops.cli.gate", "pytest_llmops.cli.monitor"}
    assert not unused & loaded


def test_help_still_lists_every_command() -> None:
    result = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0
    for commands in COMMAND_MODULES.values():
        for name in commands:
            assert name in result.stdout
