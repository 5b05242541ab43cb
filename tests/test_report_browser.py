"""Hostile chatbot output in a real browser: the HTML report shows it as text and runs none of it.

A scripted target answers with markup meant to run or break the page; pytest writes the
report; Debian's headless Chromium (driven by selenium through /usr/bin/chromedriver)
opens it. Every payload records itself in ``window.__llmops_xss`` if it ever runs, so
the test can see that nothing did, and a control at the end injects one payload on
purpose to prove that this detector catches a script that does run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest
from tooling import require
from report_support import scripted_project

from pytest_llmops.pii import mask_pii

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1280,1600"]


def _ran(tag: str) -> str:
    return f"window.__llmops_xss=(window.__llmops_xss||[]).concat(['{tag}'])"


LONG_REPLY = ("0123456789" * 10_000) + "END-OF-LONG-REPLY"  # 100 kB without a single space
PAYLOADS = {
    "script": f"<script>{_ran('script')}</script>Here is your answer.",
    "img": f'<img src=x onerror="{_ran("img")}">',
    "table": "</td></tr></tbody></table><h1 id=\"llmops-injected\">INJECTED</h1><table><tr><td>",
    "svg": f'<svg onload="{_ran("svg")}"></svg><iframe src="javascript:{_ran("iframe")}"></iframe>',
    "attribute": f"\" onmouseover=\"{_ran('attr')}\" autofocus onfocus=\"{_ran('focus')}\" x=\"",
    "markdown": f"**bold** _it_ [click me](javascript:{_ran('md')}) ```code``` # heading",
    "script-end": f"</script><script>{_ran('blob')}</script></div></template>",
    "template": "{{ 7*7 }} {% raw %} ${7*7} <!-- comment -->",
    "long": LONG_REPLY,
    "pii": "<b>Mail me</b> at evil.hacker@example.com",
    "fault": f"FAULT:<img src=x onerror=\"{_ran('fault')}\">upstream broke",
}
def _case(name: str) -> dict:
    expect: dict = {"not_contains": ["<b>never said</b>"]}
    if name in ("script", "img"):
        expect["contains"] = ["<i>missing</i>"]  # fails, so hostile text sits in a failed check too
    return {"id": f"hostile-{name}", "description": f"<b onclick=x>{name}</b> payload",
            "turns": [{"user": name, "expect": expect}]}


# JSON is YAML: no quoting surprises with payload-like strings.
CASES = {"hostile.yaml": json.dumps({"defaults": {"expect": {"max_latency_ms": 60000}},
                                     "cases": [_case(name) for name in PAYLOADS]}, indent=1)}


def _chromium_missing() -> str | None:
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return None
    return f"needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER}); .ci/run installs them"


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    require(_chromium_missing())  # CI installs them: a missing browser there is a broken build, not a skip
    monkeypatch.setenv("SE_OFFLINE", "true")  # selenium must use the local driver, never download one
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="llmops-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_hostile_replies_show_as_text_and_never_run(make_project, browser, monkeypatch) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    pytester = scripted_project(make_project, CASES, PAYLOADS)
    # A CI variable that pytest-metadata copies into pytest-html's environment table (git allows < in branch names).
    monkeypatch.setenv("CI_COMMIT_REF_NAME", f'<img src=x onerror="{_ran("environment")}">')
    result = pytester.runpytest("--llmops", "-p", "no:cacheprovider", "--html=report.html", "--self-contained-html")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 3 and outcomes.get("passed", 0) >= 3, outcomes
    page = pytester.path / "report.html"
    assert "evil.hacker@example.com" not in page.read_text(encoding="utf-8")

    browser.get(page.as_uri())
    WebDriverWait(browser, 20).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results-table tbody.results-table-row")) == len(PAYLOADS))
    browser.find_element(By.ID, "show_all_details").click()
    # Give anything that might fire (onerror on a broken image, onload, autofocus) time to run.
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight); window.scrollTo(0, 0);")
    time.sleep(1.0)

    assert browser.execute_script("return window.__llmops_xss || null") is None, "a payload ran in the report"
    assert browser.find_elements(By.ID, "llmops-injected") == []
    for tag in ("img", "svg", "iframe", "script", "h1"):
        assert browser.find_elements(By.CSS_SELECTOR, f".llmops-case {tag}, .log {tag}") == [], tag
    assert len(browser.find_elements(By.CSS_SELECTOR, "#results-table tbody.results-table-row")) == len(PAYLOADS)

    shown = {element.get_attribute("textContent"): element
             for element in browser.find_elements(By.CSS_SELECTOR, ".llmops-bot .llmops-text")}
    for name, payload in PAYLOADS.items():
        if name == "fault":
            continue
        expected = mask_pii(payload)
        assert expected in shown, f"reply {name!r} is not shown as text"
        assert shown[expected].is_displayed(), name
    faults = [e.get_attribute("textContent") for e in browser.find_elements(By.CSS_SELECTOR, ".llmops-fault")]
    assert any(PAYLOADS["fault"][len("FAULT:"):] in text for text in faults), faults
    descriptions = " ".join(e.get_attribute("textContent") for e in browser.find_elements(By.CSS_SELECTOR, ".llmops-meta"))
    assert "<b onclick=x>script</b> payload" in descriptions
    expected_texts = " ".join(e.get_attribute("textContent") for e in browser.find_elements(By.CSS_SELECTOR, ".llmops-checks"))
    assert 'reply contains "<i>missing</i>"' in expected_texts

    # The 100 kB reply scrolls inside its box instead of stretching the page.
    long_box = shown[LONG_REPLY]
    page_width = browser.execute_script("return document.documentElement.scrollWidth")
    viewport = browser.execute_script("return window.innerWidth")
    assert page_width <= viewport + 2, (page_width, viewport)
    assert long_box.size["height"] < 800
    assert browser.execute_script("return arguments[0].scrollHeight > arguments[0].clientHeight", long_box)
    assert "Chatbot evaluation" in browser.find_element(By.CSS_SELECTOR, ".llmops-summary").text
    assert browser.find_elements(By.CSS_SELECTOR, "#environment img") == []
    assert "<img src=x" in browser.find_element(By.ID, "environment").get_attribute("textContent")

    # Control: the same payload injected as markup on purpose does run, so the check above can fail.
    browser.execute_script("document.body.insertAdjacentHTML('beforeend', arguments[0])", PAYLOADS["img"])
    WebDriverWait(browser, 5).until(lambda d: d.execute_script("return window.__llmops_xss || null") == ["img"])
