"""docs/checks.md lists every check with a working example: its YAML loads, its TOML validates."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from pytest_llmops.cases import load_case_file
from pytest_llmops.checks import names
from pytest_llmops.config import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
CHECKS = (DOCS / "checks.md").read_text(encoding="utf-8")
YAML_BLOCKS = re.findall(r"```yaml\n(.*?)```", CHECKS, re.S)
TOML_BLOCKS = re.findall(r"```toml\n(.*?)```", CHECKS, re.S)
CHECK_NAMES = sorted(value for key, value in vars(names).items() if key.isupper() and isinstance(value, str)
                     and key not in ("CATEGORIES",) and re.fullmatch(r"[a-z_]+", value))


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_every_check_has_a_heading_here_or_in_the_probes_page(name):
    probes = DOCS / "probes.md"
    documented = CHECKS + (probes.read_text(encoding="utf-8") if probes.exists() else "")
    assert re.search(rf"^#+ .*`{name}`", documented, re.M), f"no heading for the {name} check in docs/checks.md"


@pytest.mark.parametrize("index", range(len(YAML_BLOCKS)))
def test_every_yaml_example_is_a_valid_case_file(tmp_path, index):
    path = tmp_path / "example.yaml"
    path.write_text(YAML_BLOCKS[index], encoding="utf-8")
    assert load_case_file(path)


def test_each_check_of_the_table_has_an_example():
    examples = "".join(YAML_BLOCKS)
    for key in ("no_error", "no_pii", "max_latency_ms", "max_ttft_ms", "contains", "not_contains", "matches",
                "not_matches", "equals", "save", "judge", "similar", "tool_calls", "no_tool_calls", "json",
                "max_tokens"):
        assert re.search(rf"\b{key}:", examples), f"no example uses {key}"


@pytest.mark.parametrize("index", range(len(TOML_BLOCKS)))
def test_every_toml_example_validates(index):
    table = tomllib.loads(TOML_BLOCKS[index])["tool"]["llmops"]
    Settings.model_validate(table)
