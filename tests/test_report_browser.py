"""Hostile chatbot output in a real browser: the HTML report shows it as text and runs none of it.

A scripted target answers with markup meant to run or break the page; pytest writes the
report; Debian's headless Chromium (driven by selenium through /usr/bin/chromedriver)
opens it. Every payload records itself in ``window.__llmops_xss`` if it ever runs, so
the test can see that nothing did, and a control at the end injects one payload on
purpose to prove that this detector catches a script that does run.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest
from tooling import require
from report_support import LEAKY_TOML, MIXED_SUITE, scripted_project

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


# WCAG 2 contrast of each element's text against the first opaque background behind it.
CONTRASTS_JS = """
const lum = (rgb) => { const [r, g, b] = rgb.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 :
    Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
const parts = (css) => css.match(/[\\d.]+/g).map(Number);
const background = (el) => { for (; el; el = el.parentElement) { const c = parts(getComputedStyle(el).backgroundColor);
    if (c.length < 4 || c[3] > 0.5) return c.slice(0, 3); } return [255, 255, 255]; };
return Array.from(document.querySelectorAll(arguments[0]))
  .filter((el) => el.getClientRects().length && el.textContent.trim())
  .map((el) => { const a = lum(parts(getComputedStyle(el).color).slice(0, 3)), b = lum(background(el));
    return [el.tagName + '.' + el.className, el.textContent.trim().slice(0, 40),
            (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]; });
"""
READABLE = (".llmops-verdict, .llmops-summary h2, .llmops-summary h3, .llmops-facts th, .llmops-facts td, .llmops-bad, "
            ".llmops-summary a, .llmops-summary li, .llmops-meta, .llmops-turn-head, .llmops-who, .llmops-text, "
            ".llmops-checks th, .llmops-checks td, .llmops-fault, #results-table th, #results-table td, "
            ".filters span, .collapse button, .summary p, body > p, #environment td")


def _open(browser, page: Path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page.as_uri())
    WebDriverWait(browser, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#results-table tbody.results-table-row"))


@pytest.mark.parametrize("select, verdict, color", [
    ([], "FAIL: 1 of 3 cases passed (33.3%)", (0xCF, 0x22, 0x2E)),
    (["-k", "greets"], "PASS: 1 of 1 cases passed (100.0%)", (0x1A, 0x7F, 0x37)),
])
def test_the_report_opens_with_a_readable_verdict_and_fits_800_px(make_project, browser, tmp_path, select, verdict,
                                                                   color) -> None:
    from PIL import Image
    from selenium.webdriver.common.by import By

    pytester = make_project(MIXED_SUITE, LEAKY_TOML)
    pytester.runpytest("--llmops", "-p", "no:cacheprovider", "--html=report.html", "--self-contained-html", *select)
    browser.set_window_size(800, 900)
    _open(browser, pytester.path / "report.html")
    assert browser.execute_script("return window.innerWidth") <= 800

    # The verdict is the first thing below the title, on the first screen, above the environment and the rows.
    box = browser.find_element(By.CSS_SELECTOR, ".llmops-verdict")
    assert box.text == verdict
    top = box.rect["y"]
    assert top < 200, box.rect
    above = browser.execute_script(
        "return Array.from(document.body.children).filter((el) => el.getClientRects().length && "
        "el.getBoundingClientRect().bottom <= arguments[0]).map((el) => el.id || el.tagName)", top)
    assert above == ["title", "P"], above
    for later in ("environment", "results-table"):
        assert browser.find_element(By.ID, later).rect["y"] > top + box.rect["height"], later

    # A screenshot of the first screen shows it: the verdict's colour fills its box, at the top of the page.
    shot = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    (tmp_path / "report-800px.png").write_bytes(browser.get_screenshot_as_png())
    scale = shot.width / browser.execute_script("return window.innerWidth")
    inside = (int((box.rect["x"] + 6) * scale), int((top + box.rect["height"] / 2) * scale))
    assert shot.getpixel(inside) == color, (inside, shot.getpixel(inside))
    column = [shot.getpixel((inside[0], y)) for y in range(shot.height)]
    first = column.index(color)  # nothing in the verdict's colour above it: the page starts with it
    assert abs(first - top * scale) <= 2 * scale and first < 200 * scale, (first, top)
    assert all(pixel == color for pixel in column[first:int((top + box.rect["height"]) * scale) - 2])

    # No sideways scrolling at 800 px, collapsed or with every conversation shown.
    for _ in range(2):
        assert browser.execute_script("return document.documentElement.scrollWidth") <= \
            browser.execute_script("return window.innerWidth"), "the page scrolls sideways at 800 px"
        browser.find_element(By.ID, "show_all_details").click()

    # Every label and value reads at WCAG AA contrast (4.5:1 for text this size).
    measured = browser.execute_script(CONTRASTS_JS, READABLE)
    assert len(measured) > 30
    poor = [item for item in measured if item[2] < 4.5]
    assert not poor, poor
