"""The dashboard in a real headless browser: Debian's chromium, driven by selenium
through /usr/bin/chromedriver (nothing downloads a browser or a driver).

The app runs under uvicorn in a thread on a free loopback port, over a SQLite
store seeded through the Store API (see ``seed`` in support/web.py). No Celery
worker runs: the retry button's delivery is sent by ``monitor.pipeline.deliver``
called in the request, which is what the worker's task would call.

Set MONITOR_WEB_SCREENSHOTS=<folder> to also save the README screenshots there.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(f"needs Debian's chromium and chromedriver ({CHROMIUM}, {CHROMEDRIVER}): "
                "apt-get install -y chromium chromium-driver", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install 'selenium>=4.20,<5')")
uvicorn = pytest.importorskip("uvicorn")

from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from support.procs import wait_for  # noqa: E402
from support.samples import ARTICLE_TITLE, SAMPLE_BODY  # noqa: E402
from support.web import SCRIPT_TITLE, AppServer, seed  # noqa: E402


@pytest.fixture
def browser(tmp_path):
    os.environ.setdefault("SE_OFFLINE", "true")  # belt and braces: Selenium Manager never downloads
    profile = tmp_path / "chromium-profile"
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1280,900"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def site(tmp_path, receiver):
    data = seed(tmp_path, receiver.url)
    with AppServer(data.app()) as server:
        data.base = server.base
        yield data


def alerts_listed(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "#alerts article.alert")


def test_alerts_page_lists_seeded_alerts_with_marks(browser, site):
    browser.get(site.base + "/alerts")
    cards = alerts_listed(browser)
    assert len(cards) == len(site.alerts)
    sample = browser.find_element(By.CSS_SELECTOR, f'article[data-alert="{site.alerts[("sample", "otan")]}"]')
    marks = [m.text for m in sample.find_elements(By.CSS_SELECTOR, ".snippet mark")]
    assert marks and all(m.upper() == "OTAN" for m in marks)
    assert ARTICLE_TITLE[:40] in sample.text


def test_filtering_by_rule_narrows_the_list(browser, site):
    browser.get(site.base + "/alerts")
    before = len(alerts_listed(browser))
    Select(browser.find_element(By.ID, "filter-rule")).select_by_value("ukraine")
    browser.find_element(By.ID, "apply-filters").click()
    WebDriverWait(browser, 10).until(EC.url_contains("rule=ukraine"))
    cards = alerts_listed(browser)
    assert 0 < len(cards) < before
    assert {c.get_attribute("data-alert") for c in cards} == {
        str(site.alerts[("sample", "ukraine")]), str(site.alerts[("nato", "ukraine")])}
    for c in cards:
        assert c.find_element(By.CSS_SELECTOR, "a.rule").text == "ukraine"


def test_rule_tester_shows_the_matches_for_the_french_sample(browser, site):
    browser.get(site.base + "/tester")
    rules = browser.find_element(By.ID, "rules")
    rules.clear()
    rules.send_keys("rules:\n- name: otan-fr\n  keywords:\n    any: [OTAN]\n")
    browser.find_element(By.ID, "title").send_keys(ARTICLE_TITLE)
    # typing 8,000 characters is slow; set the value as a paste would
    browser.execute_script("document.getElementById('text').value = arguments[0];", SAMPLE_BODY)
    browser.find_element(By.ID, "run-test").click()
    results = WebDriverWait(browser, 15).until(EC.presence_of_element_located((By.ID, "results")))
    assert "1 of 1 rule matched" in results.text
    match = results.find_element(By.CSS_SELECTOR, 'article.match[data-rule="otan-fr"]')
    marks = [m.text for m in match.find_elements(By.CSS_SELECTOR, ".fulltext mark")]
    expected = SAMPLE_BODY.upper().count("OTAN")
    assert len(marks) == expected and all(m.upper() == "OTAN" for m in marks)


def test_retry_button_moves_a_dead_delivery_to_sent(browser, site, receiver):
    dead = site.deliveries["dead"][0]
    browser.get(site.base + "/deliveries")
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-delivery="{dead}"]')
    assert "dead" in row.text
    row.find_element(By.CSS_SELECTOR, "button.retry").click()
    notice = WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "notice")))
    assert notice.text == f"Delivery {dead} was sent."
    assert site.store.delivery_job(dead).status == "sent"
    wait_for(lambda: receiver.posts, 10, what="the receiver to get the alert")
    assert len(receiver.posts) == 1
    assert not browser.find_elements(By.CSS_SELECTOR, f'tr[data-delivery="{dead}"]')  # no longer dead


def test_a_title_with_a_script_tag_renders_inert(browser, site):
    script_alert = site.alerts[("script", "otan")]
    for path in ("/alerts", f"/alerts/{script_alert}", "/alerts?rule=otan"):
        browser.get(site.base + path)
        assert browser.execute_script("return window.__pwned === undefined")
        assert browser.execute_script("return document.querySelectorAll('main script, main img').length") == 0
    # the markup is shown as the text it is
    assert "<script>window.__pwned = 1</script>" in browser.find_element(By.TAG_NAME, "h1").text or \
        SCRIPT_TITLE[:30] in browser.page_source.replace("&lt;", "<").replace("&gt;", ">")
    browser.get(site.base + "/alerts")
    card = browser.find_element(By.CSS_SELECTOR, f'article[data-alert="{script_alert}"]')
    assert "<script>window.__pwned = 1</script>" in card.find_element(By.TAG_NAME, "h3").text
    assert not card.find_elements(By.CSS_SELECTOR, "h3 a")  # its javascript: link is not a link


def test_pages_fit_a_phone_screen(browser, site):
    browser.set_window_size(390, 844)
    for path in ("/alerts", "/feeds", "/rules", "/tester", "/deliveries"):
        browser.get(site.base + path)
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"


# -- README screenshots ---------------------------------------------------------------------


def _more_history(site) -> None:
    """Matches spread over past days, so the charts have something to show."""
    from monitor import pipeline
    from monitor.core.matching import compile_rules
    from monitor.core.rules import load_rules
    from monitor.core.types import Article

    matcher = compile_rules(load_rules(site.settings.rules_path).rules)
    now = datetime.now(timezone.utc)
    words = ["l'OTAN renforce son flanc est", "Kyiv demande des armes", "NATO allies meet", "Ukrainian grain deal",
             "Le Canada et l'OTAN", "Réunion à Kyiv"]
    for day in range(1, 29, 2):
        when = now - timedelta(days=day, hours=day % 5)
        arts = [Article(f"h-{day}-{i}", f"https://lemonde.example/h/{day}/{i}", f"{w.capitalize()} ({day})",
                        f"Article du jour {day}: {w}. " * 3, language="fr")
                for i, w in enumerate(words[: 1 + (day * 7) % len(words)])]
        ids = site.store.record_poll(site.feeds["fr"], status=200, articles=arts, now=when)
        pipeline.match_articles(ids, store=site.store, matcher=matcher, channels={}, now=when)
    site.store.record_poll(site.feeds["fr"], status=304)  # its latest poll is now, not the oldest backfilled one


@pytest.mark.skipif(not os.environ.get("MONITOR_WEB_SCREENSHOTS"),
                    reason="set MONITOR_WEB_SCREENSHOTS=<folder> to save the README screenshots")
def test_screenshots(browser, site):
    out = Path(os.environ["MONITOR_WEB_SCREENSHOTS"])
    out.mkdir(parents=True, exist_ok=True)
    browser.get(site.base + "/alerts")
    browser.save_screenshot(str(out / "alerts.png"))
    browser.set_window_size(390, 844)
    browser.refresh()
    browser.save_screenshot(str(out / "alerts-phone.png"))
    browser.set_window_size(1280, 900)
    _more_history(site)  # after the alerts shot: its matches are newer rows about older days
    shots = [("feeds", "/feeds"), ("rules", "/rules"), ("deliveries", "/deliveries")]
    for name, path in shots:
        browser.get(site.base + path)
        time.sleep(0.2)
        browser.save_screenshot(str(out / f"{name}.png"))
    browser.get(site.base + "/tester")
    rules = browser.find_element(By.ID, "rules")
    rules.clear()
    rules.send_keys("rules:\n- name: otan-fr\n  keywords:\n    any: [OTAN, Canada]\n")
    browser.find_element(By.ID, "title").send_keys(ARTICLE_TITLE)
    browser.execute_script("document.getElementById('text').value = arguments[0];", SAMPLE_BODY)
    browser.find_element(By.ID, "run-test").click()
    WebDriverWait(browser, 15).until(EC.presence_of_element_located((By.ID, "results")))
    browser.execute_script("document.getElementById('results').scrollIntoView()")
    browser.save_screenshot(str(out / "tester.png"))
