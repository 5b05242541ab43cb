"""Make docs/report-screenshot.png: a real HTML report with failing cases, photographed by headless Chromium.

Builds a throwaway project from the shipped eval_cases/ against a stub that misbehaves on
purpose (leaks an email address, answers refunds with an error, is slow to cancel),
runs ``pytest --llmops --html`` on it and screenshots the page as a reviewer first sees
it: the summary on top, failing cases expanded, passing ones collapsed.

    python tools/report_screenshot.py [OUTPUT.png]

Needs Debian's ``chromium``; touches nothing outside a temporary folder but OUTPUT.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1280,1700"]
PYPROJECT = """\
[tool.llmops]
target = "acme-bot-canary"

[tool.llmops.pii]
allowlist = ["1-800-555-0199", "support@acme.example"]

[tool.llmops.targets.acme-bot-canary]
type = "stub"
leak = "email"
leak_on = "email"
error_on = "refund"
slow_on = "where|status"
slow_ms = 3200
"""


def build_report(folder: Path) -> Path:
    project = folder / "acme-support-bot"
    shutil.copytree(ROOT / "eval_cases", project / "eval_cases")
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    report = project / "report.html"
    subprocess.run([sys.executable, "-m", "pytest", "--llmops", "-p", "no:cacheprovider", "-q",
                    f"--html={report}", "--self-contained-html"], cwd=project, check=False,
                   stdout=subprocess.DEVNULL, timeout=300)
    if not report.is_file():
        raise SystemExit("pytest wrote no report")
    return report


def screenshot(page: Path, output: Path, profile: Path) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={output}",
                    page.as_uri()], check=True, capture_output=True, timeout=120)


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else ROOT / "docs" / "report-screenshot.png"
    with tempfile.TemporaryDirectory(prefix="llmops-screenshot-") as tmp:
        folder = Path(tmp)
        report = build_report(folder)
        (folder / "profile").mkdir()
        screenshot(report, output.resolve(), folder / "profile")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
