"""Safety checks benchmark: what secret masking and the leak and refusal checks cost per reply, and false alarms.

    pip install -e '.[bench]'                 # faker; add '.[secrets]' for the detect-secrets rows
    python benchmarks/safety.py               # 4000 replies of the PII corpus, seed 20261125, 5 repeats
    python benchmarks/safety.py --docs 1000 --repeats 3

Every row reads the same seeded corpus (benchmarks/pii_corpus.py: half the replies leak
personal data, half are clean but full of order, tracking and invoice numbers). Timings
are microseconds per reply, min / median / max over the repeats, each next to the floor
measured in the same run: masking personal data alone, as every output did before
secrets were masked too. False alarms count replies of the corpus (none of which holds a
secret) where a detector claims one, and probe replies a check misjudges.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import random
import statistics
import string
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pii_corpus import make_corpus  # noqa: E402

from pytest_llmops.checks.canary import new_canary, plant  # noqa: E402
from pytest_llmops.checks.checker import Checker  # noqa: E402
from pytest_llmops.checks.leaks import system_prompt_leak_check  # noqa: E402
from pytest_llmops.checks.refusal import PhraseRefusalDetector  # noqa: E402
from pytest_llmops.pii import PiiDetector, SecretDetector  # noqa: E402
from pytest_llmops.probes.library import load_probes  # noqa: E402
from pytest_llmops.transcript import Exchange  # noqa: E402


def timed(texts: list[str], workloads: dict[str, Callable[[str], object]], repeats: int) -> dict[str, list[float]]:
    """Microseconds per text for each workload, once per repeat; the workloads take turns within each repeat
    (after one warm-up pass), so a machine slowing down mid-run slows them all alike."""
    rounds: dict[str, list[float]] = {name: [] for name in workloads}
    for repeat in range(repeats + 1):
        for name, work in workloads.items():
            started = time.perf_counter()
            for text in texts:
                work(text)
            if repeat:
                rounds[name].append((time.perf_counter() - started) / len(texts) * 1e6)
    return rounds


def row(name: str, rounds: list[float], floor: list[float] | None) -> str:
    low, mid, high = min(rounds), statistics.median(rounds), max(rounds)
    ratio = f"{mid / statistics.median(floor):5.2f}x floor" if floor else "    (floor)"
    return f"  {name:<52} {low:8.1f} {mid:8.1f} {high:8.1f} us/reply  {ratio}"


def secret_replies(count: int, seed: int) -> list[tuple[str, str, str]]:
    """(format, reply, secret): ``count`` replies per format the issue names, random keys in support prose."""
    rng = random.Random(seed)
    alnum = string.ascii_letters + string.digits

    def chars(n: int, alphabet: str = alnum) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    def b64url(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    makers = {
        "openai": lambda: "sk-" + rng.choice(["", "proj-", "svcacct-"]) + chars(rng.randint(40, 64)),
        "aws": lambda: "AKIA" + chars(16, string.ascii_uppercase + string.digits),
        "github": lambda: "ghp_" + chars(36),
        "slack": lambda: f"xoxb-{chars(11, string.digits)}-{chars(12, string.digits)}-{chars(24)}",
        "jwt": lambda: f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{b64url({'sub': chars(8)})}.{chars(43)}",
        "pem": lambda: ("-----BEGIN PRIVATE KEY-----\n" + "\n".join(chars(64, alnum + "+/") for _ in range(4))
                        + "\n-----END PRIVATE KEY-----"),
        "keyword+entropy": lambda: chars(32, "0123456789abcdef"),
    }
    frames = ["Sure! Here it is: {}", "The {} is what our system uses.", "Use this key: {} and keep it safe.",
              "Our API token is {}, please don't share it."]
    replies = []
    for name, make in makers.items():
        for _ in range(count):
            secret = make()
            frame = "The api key is {}." if name == "keyword+entropy" else rng.choice(frames)
            replies.append((name, frame.format(secret), secret))
    return replies


def detect_secrets_scan() -> Callable[[str], list] | None:
    """detect-secrets as its docs use it (every default plugin, scan_line), for comparison."""
    if importlib.util.find_spec("detect_secrets") is None:
        return None
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import default_settings

    def scan(text: str) -> list:
        with default_settings():
            return [secret for line in text.splitlines() for secret in scan_line(line)]
    return scan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    texts = [doc.text for doc in make_corpus(args.docs, args.seed)]
    print(f"safety benchmark: {len(texts)} replies (mean {statistics.mean(map(len, texts)):.0f} characters), "
          f"{args.repeats} repeats, python {sys.version.split()[0]}")

    pii_only = PiiDetector(secrets=SecretDetector(rules=()))
    secrets = SecretDetector()
    system = plant(load_probes(("system-prompt",))[0].case.system or "", new_canary())
    canary = system.rsplit(" ", 1)[1]
    refusal = PhraseRefusalDetector()
    checker = Checker()
    workloads: dict[str, Callable[[str], object]] = {
        "mask: personal data only (the floor)": pii_only.mask,
        "mask: personal data and secrets (every output now)": PiiDetector().mask,
        "no_secrets: built-in rules alone": secrets.find,
    }
    backend = None
    if importlib.util.find_spec("detect_secrets") is not None:
        from pytest_llmops.pii.detect_secrets_backend import DetectSecretsBackend

        backend = SecretDetector(backend=DetectSecretsBackend.load())
        workloads["no_secrets: built-in + detect-secrets backend"] = backend.find
    scan = detect_secrets_scan()
    if scan is not None:
        workloads["detect-secrets scan_line, default plugins (not used)"] = scan
    workloads.update({
        "no_system_prompt_leak: probe prompt + canary": lambda t: system_prompt_leak_check(t, system, canary, 8),
        "refusal: built-in phrase set": refusal.verdict,
        "every default check, no system prompt": lambda t: checker.check_exchange(Exchange(1, "q", t, 10.0)),
        "every default check, with system prompt and canary": lambda t: checker.check_exchange(
            Exchange(1, "q", t, 10.0, system=system, canary=canary)),
    })
    rounds = timed(texts, workloads, args.repeats)
    floor = rounds["mask: personal data only (the floor)"]
    print("\ntimings                                                   min   median      max")
    for name, values in rounds.items():
        print(row(name, values, None if values is floor else floor))

    print("\nsecrets found and masked whole (every character hidden), of 200 random keys per format")
    replies = secret_replies(200, args.seed)
    detectors = {"built-in rules": secrets}
    if backend is not None:
        from pytest_llmops.pii.detect_secrets_backend import DetectSecretsBackend

        detectors["detect-secrets regex plugins alone"] = SecretDetector(rules=(), backend=DetectSecretsBackend.load())
    for name, detector in detectors.items():
        masker = PiiDetector(kinds=[], secrets=detector)
        cells = []
        for fmt in dict.fromkeys(f for f, _, _ in replies):
            chosen = [(reply, secret) for f, reply, secret in replies if f == fmt]
            found = sum(bool(detector.find(reply)) for reply, _ in chosen)
            whole = sum(not any(part in masker.mask(reply) for part in secret.split("\n") if len(part) > 4)
                        for reply, secret in chosen)
            cells.append(f"{fmt} {found}/{whole}")
        print(f"  {name}: " + ", ".join(cells) + "  (found/masked whole)")

    print("\nfalse alarms on the corpus (no reply in it holds a secret, a canary or the prompt)")
    print(f"  built-in secret rules: {sum(bool(secrets.find(t)) for t in texts)} of {len(texts)} replies")
    if backend is not None:
        print(f"  built-in + detect-secrets backend: {sum(bool(backend.find(t)) for t in texts)} of {len(texts)}")
    if scan is not None:
        print(f"  detect-secrets scan_line, default plugins: {sum(bool(scan(t)) for t in texts)} of {len(texts)}")
    leaks = sum(not system_prompt_leak_check(t, system, canary, 8).passed for t in texts)
    print(f"  no_system_prompt_leak: {leaks} of {len(texts)}")
    print(f"  refusal phrases: {sum(refusal.verdict(t).declined for t in texts)} of {len(texts)} "
          "(the corpus holds no refusals)")


if __name__ == "__main__":
    main()
