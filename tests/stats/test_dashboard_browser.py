"""The dashboard in a real browser: Debian's headless Chromium (chromium + chromium-driver, installed by
`make browser-deps`, which `make test` runs) signs in through the token endpoint, waits for the figures,
checks them against the API for the same caller, opens an overdue case, and saves screenshots at
1366×768 and 1920×1080 under var/test-output/. It never skips: without the browser it fails and says
what to install."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

from tests.support import DEMO_PASSWORD, ROOT

OUTPUT = ROOT / "var" / "test-output"


def _driver(width: int, height: int) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    assert chromium and chromedriver, "the browser test needs Debian's chromium and chromium-driver: make browser-deps"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=zh-CN"):
        options.add_argument(arg)
    options.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=Service(chromedriver), options=options)


def _pct(num: int, den: int) -> str:
    return "—" if not den else f"{num / den * 100:.1f}%"


def _run_browser(url: str, user: str, expect: dict[str, str], shots: list[tuple[int, int]]) -> dict[str, str]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    OUTPUT.mkdir(parents=True, exist_ok=True)
    seen: dict[str, str] = {}
    for width, height in shots:
        driver = _driver(width, height)
        try:
            driver.get(f"{url}/dashboard")
            wait = WebDriverWait(driver, 30)
            wait.until(ec.visibility_of_element_located((By.ID, "username"))).send_keys(user)
            driver.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
            driver.find_element(By.ID, "login-submit").click()
            wait.until(lambda d: d.execute_script("return document.body.dataset.loaded === 'true'"))
            for element_id in expect:
                seen[element_id] = driver.find_element(By.ID, element_id).text
            assert driver.execute_script("return document.documentElement.lang") == "zh-CN"
            # every asset the page loaded came from the service itself
            urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
            assert all(u.startswith(url) for u in urls), urls
            fits = driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
            assert fits, f"the board is wider than a {width}x{height} screen"
            driver.save_screenshot(str(OUTPUT / f"dashboard-{width}x{height}.png"))
            links = driver.find_elements(By.CSS_SELECTOR, "#overdue-list a[data-case]")
            if links:
                links[0].click()
                wait.until(ec.visibility_of_element_located((By.ID, "case-dialog")))
                wait.until(lambda d: d.find_element(By.ID, "case-detail").text.strip() != "")
                seen["case-detail"] = driver.find_element(By.ID, "case-detail").text
                driver.save_screenshot(str(OUTPUT / f"dashboard-case-{width}x{height}.png"))
        finally:
            driver.quit()
    return seen


async def test_the_dashboard_signs_in_and_shows_what_the_api_says(system):
    from tests.cases.factories import make_case

    await make_case(system, flags=[], people_involved=2, category="neighbour")  # something to show
    headers = await system.auth("l001")
    overview = (await system.http.get(f"{system.cases_url}/v1/stats/overview", headers=headers)).json()
    areas = (await system.http.get(f"{system.cases_url}/v1/stats/sla?group_by=area", headers=headers)).json()
    overdue = (await system.http.get(f"{system.cases_url}/v1/cases?overdue=true&limit=20", headers=headers)).json()
    res = [g["resolution_rate"] for g in areas["groups"]]
    sat = [g["satisfaction_rate"] for g in areas["groups"]]
    expect = {
        "tile-total": str(overview["cases"]["total"]),
        "tile-open": str(overview["cases"]["open"]),
        "tile-overdue": str(overview["overdue_now"]),
        "tile-due24": str(overview["due_24h"]),
        "rate-resolution": _pct(sum(r["num"] for r in res), sum(r["den"] for r in res)),
        "rate-satisfaction": _pct(sum(r["num"] for r in sat), sum(r["den"] for r in sat)),
    }
    seen = await asyncio.to_thread(_run_browser, system.cases_url, "l001", expect, [(1366, 768), (1920, 1080)])
    for key, value in expect.items():
        assert seen[key] == value, (key, seen[key], value)
    if overdue["items"]:
        assert overdue["items"][0]["number"] in seen["case-detail"]
    sizes = await asyncio.to_thread(lambda: [p.stat().st_size for p in OUTPUT.glob("dashboard-*x*.png")])
    assert len(sizes) >= 2 and min(sizes) > 10_000
