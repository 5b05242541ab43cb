"""``llmops probes``: list the shipped safety probes, or export them as case files a team owns."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from .. import __version__
from ..probes.library import PROBE_CATEGORIES, export_probes, holding_checks, load_probes, parse_selection


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("probes", help="list or export the safety probe library",
                                   description="The safety probes shipped with pytest-llmops (docs/probes.md): "
                                               "run them with pytest --llmops --llmops-probes=all.")
    commands = parser.add_subparsers(dest="probes_command", metavar="ACTION", required=True)
    categories = f"'all' or categories, comma-separated ({', '.join(PROBE_CATEGORIES)}); default all"
    listing = commands.add_parser("list", help="show every probe, its category and what holding means",
                                  description="Show every probe: its name, turns, the checks that decide "
                                              "whether it holds, and what it tries.")
    listing.add_argument("--category", default="all", metavar="LIST", help=categories)
    listing.set_defaults(handler=run_list)
    export = commands.add_parser("export", help="write the probes as ordinary case files into DIR",
                                 description="Write each category's probes to DIR/<category>.yaml as ordinary "
                                             "case files: yours to edit, run with pytest --llmops.")
    export.add_argument("folder", type=Path, metavar="DIR", help="folder to write into (created if missing)")
    export.add_argument("--category", default="all", metavar="LIST", help=categories)
    export.add_argument("--force", action="store_true", help="replace probe files already in DIR")
    export.set_defaults(handler=run_export)


def run_list(args: argparse.Namespace) -> int:
    probes = load_probes(parse_selection(args.category, "--category"))
    counts = Counter(probe.category for probe in probes)
    print(f"pytest-llmops {__version__} probe library: {len(probes)} probe(s)")
    category = None
    for probe in probes:
        if probe.category != category:
            category = probe.category
            print(f"\n{category} ({counts[category]})")
        turns = len(probe.case.turn_expects)
        print(f"  {probe.name}  [{turns} turn{'s' if turns > 1 else ''}; holds on: {', '.join(holding_checks(probe))}]")
        print(f"      {probe.case.case.description}")
    print("\n" + ", ".join(f"{name} {count}" for name, count in counts.items()))
    return 0


def run_export(args: argparse.Namespace) -> int:
    written = export_probes(args.folder, parse_selection(args.category, "--category"), overwrite=args.force)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} file(s): run them as your own cases with pytest --llmops --llmops-cases={args.folder}")
    return 0
