"""``llmops schema cases|feedback``: print a published JSON Schema, generated from the model it describes.

``llmops schema cases > docs/cases.schema.json`` regenerates the published file; editors
use it (``# yaml-language-server: $schema=...``) to complete and check case files.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Callable


def _cases() -> dict[str, Any]:
    from ..cases import case_file_json_schema

    return case_file_json_schema()


def _feedback() -> dict[str, Any]:
    from ..feedback.store import feedback_json_schema

    return feedback_json_schema()


#: name -> the function building that schema
SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {"cases": _cases, "feedback": _feedback}


def render(name: str) -> str:
    """The schema as published: indented JSON ending in a newline."""
    return json.dumps(SCHEMAS[name](), indent=2) + "\n"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("schema", help="print the JSON Schema of case files or feedback records",
                                   description="Print a JSON Schema generated from the model it describes: "
                                               "'cases' for YAML case files (docs/cases.schema.json), 'feedback' "
                                               "for feedback records (docs/feedback.schema.json).")
    parser.add_argument("name", choices=sorted(SCHEMAS), help="which schema")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print(render(args.name), end="")
    return 0
