"""The dashboard in a real browser: Debian's headless Chromium, driven through Selenium,
against a sidecar (the shipped config) in front of the fake upstream. Run by
`make integration`; screenshots go to .build-integration/.

It checks that the page loads with no console error and no request to another origin,
that after known traffic its headline figures equal /stats to the cent, that the
charts are drawn, that the model table sorts, that new traffic shows within 6 s without
a reload, that a hidden tab stops asking, and that the page at 360 px has no horizontal
scroll.
"""

import json
import math
import os
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from common import ROOT, check, finish, get_json, print_logs, start_fake, start_sidecar, stop_all

SHOTS = os.path.join(ROOT, ".build-integration")


def money(value):
    """The page's rule: 2 decimals from $1, 4 significant digits below."""
    a = abs(value)
    sign = "-" if value < 0 else ""
    if a == 0 or float(f"{a:.3e}") >= 1:
        return f"{sign}${a:,.2f}"
    decimals = 3 - math.floor(math.log10(a))
    return f"{sign}${a:.{decimals}f}"


def chat(sidecar, model, content, key="sk-dash-one"):
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": content}]}).encode()
    request = urllib.request.Request(f"{sidecar}/v1/chat/completions", data=body, method="POST",
                                     headers={"content-type": "application/json", "authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.headers.get("x-cache")
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


def refused(sidecar):
    request = urllib.request.Request(f"{sidecar}/v1/chat/completions", data=b"not json", method="POST",
                                     headers={"content-type": "application/json", "authorization": "Bearer sk-dash-one"})
    try:
        urllib.request.urlopen(request, timeout=30).read()
        return 200
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


def browser():
    options = Options()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)


def wait_until(predicate, seconds, step=0.1):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if predicate():
                return True
        except Exception:
            pass
        time.sleep(step)
    return False


def text(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def main():
    os.makedirs(SHOTS, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cachette-dashboard-") as work:
        driver = None
        try:
            sidecar = start_sidecar(work, start_fake(work))

            # Known traffic: two models, misses and hits, and an upstream error.
            outcomes = [chat(sidecar, model, f"dashboard question {i}") for model in ["gpt-4o-mini", "gpt-4o"] for i in (1, 2, 1)]
            outcomes.append(refused(sidecar))
            outcomes.append(chat(sidecar, "fake-failing-model", "this one fails"))
            check(outcomes == ["MISS", "MISS", "HIT", "MISS", "MISS", "HIT", 400, 500], f"known traffic went as planned ({outcomes})")

            driver = browser()
            driver.get(sidecar + "/")
            check(wait_until(lambda: text(driver, "status").startswith("Updated"), 15), "the page loads and reads the sidecar's figures")
            driver.execute_script("window.__notReloaded = true")

            stats = get_json(f"{sidecar}/stats?window=24h")
            models = stats["models"].values()
            requests = sum(m["requests"] for m in models)
            hits = sum(m["hits"] for m in models)
            misses = sum(m["misses"] for m in models)
            check(text(driver, "spent") == money(stats["cost"]["spent_usd"]), f"spent equals /stats ({text(driver, 'spent')})")
            check(text(driver, "saved") == money(stats["cost"]["saved_usd"]), f"saved equals /stats ({text(driver, 'saved')})")
            check(text(driver, "saved-split") == f"cache {money(stats['cost']['saved_cache_usd'])} · compression "
                  f"{money(stats['cost']['saved_compression_usd'])}", "saved splits into cache and compression as /stats does")
            check(text(driver, "requests") == f"{requests:,}" and requests == 8, f"requests equal /stats ({text(driver, 'requests')})")
            # One definition everywhere: hits / (hits + misses); the error is neither.
            check(text(driver, "hit-ratio") == f"{hits / (hits + misses) * 100:.1f}%" == "33.3%",
                  f"hit ratio equals /stats's definition ({text(driver, 'hit-ratio')})")
            check(text(driver, "rejected") == "1", "the refused request is counted")
            ratios = {row.find_elements(By.TAG_NAME, "td")[0].text: row.find_elements(By.TAG_NAME, "td")[3].text
                      for row in driver.find_elements(By.CSS_SELECTOR, "#models tbody tr")}
            check(ratios.get("gpt-4o") == "33.3%" and ratios.get("(none)") == "–",
                  f"a model's hit ratio as /stats has it; none without hits or misses ({ratios})")
            check(text(driver, "errors") == "1", "the upstream error is counted")
            check(text(driver, "tokens-cache") == f"{sum(m['saved_cache_tokens'] for m in models):,}", "tokens served from cache equal /stats")

            for chart in ["chart-requests", "chart-saved", "chart-tokens"]:
                paths = [p.get_attribute("d") for p in driver.find_elements(By.CSS_SELECTOR, f"#{chart} path")]
                check(any(d and len(d) > 10 for d in paths), f"{chart} has drawn paths")

            def model_column():
                return [row.find_elements(By.TAG_NAME, "td")[0].text for row in driver.find_elements(By.CSS_SELECTOR, "#models tbody tr")]
            check(sorted(model_column()) == ["(none)", "fake-failing-model", "gpt-4o", "gpt-4o-mini"],
                  f"one row per model, and one for the refusal that named none ({model_column()})")
            header = driver.find_element(By.CSS_SELECTOR, '#models th[data-key="model"] button')
            header.click()
            check(model_column() == sorted(model_column()), "clicking Model sorts the table A to Z")
            check(driver.find_element(By.CSS_SELECTOR, '#models th[data-key="model"]').get_attribute("aria-sort") == "ascending",
                  "the sorted column says so (aria-sort)")
            header.click()
            check(model_column() == sorted(model_column(), reverse=True), "clicking it again sorts Z to A")

            recent = driver.find_elements(By.CSS_SELECTOR, "#recent tbody tr")
            check(len(recent) == 8 and recent[0].find_elements(By.TAG_NAME, "td")[3].text == "error", "the last requests, newest first")
            check("sk-dash" not in driver.page_source and "dashboard question" not in driver.page_source, "no credential, no prompt text")

            driver.save_screenshot(os.path.join(SHOTS, "dashboard-light.png"))

            for i in (3, 4, 5):
                chat(sidecar, "gpt-4o-mini", f"dashboard question {i}")
            check(wait_until(lambda: text(driver, "requests") == "11", 6.5), f"new traffic shows within 6 s ({text(driver, 'requests')})")
            check(driver.execute_script("return window.__notReloaded === true"), "without reloading the page")

            # The provider's prompt cache: a Claude answer that read 5 prompt tokens from it.
            body = json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 32, "messages": [{"role": "user", "content": "cached prefix"}]})
            request = urllib.request.Request(f"{sidecar}/v1/messages", data=body.encode(), method="POST",
                                             headers={"content-type": "application/json", "x-api-key": "sk-dash-one"})
            urllib.request.urlopen(request, timeout=30).read()
            provider = get_json(f"{sidecar}/stats?window=24h")["cost"]["saved_provider_cache_usd"]
            check(provider > 0 and wait_until(lambda: text(driver, "provider-cache") == money(provider), 6.5),
                  f"the provider-cache card shows /stats's net dollars ({text(driver, 'provider-cache')}, {money(provider)})")
            check(text(driver, "provider-cache-split") == "read 5 · written 0 tokens", f"its reads and writes ({text(driver, 'provider-cache-split')})")
            lines = [p.get_attribute("d") for p in driver.find_elements(By.CSS_SELECTOR, "#chart-saved path.line.provider")]
            check(len(lines) == 1 and len(lines[0]) > 10, "the savings chart draws the provider cache's line")

            # Hidden, it stops asking; shown again, it asks at once.
            def stats_fetches():
                return driver.execute_script(
                    "return performance.getEntriesByType('resource').filter(e => e.name.includes('/stats?window=')).length")
            driver.execute_script(
                "Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
                "document.dispatchEvent(new Event('visibilitychange'))")
            before = stats_fetches()
            time.sleep(6.5)
            check(stats_fetches() == before, f"no refresh while the tab is hidden ({stats_fetches() - before} asked)")
            driver.execute_script(
                "Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
                "document.dispatchEvent(new Event('visibilitychange'))")
            check(wait_until(lambda: stats_fetches() > before, 2), "shown again, it refreshes at once")

            driver.find_element(By.CSS_SELECTOR, '[data-window="1h"]').click()
            check(wait_until(lambda: driver.find_element(By.CSS_SELECTOR, '[data-window="1h"]').get_attribute("aria-pressed") == "true", 3),
                  "the window buttons switch (aria-pressed)")

            def background():
                return driver.execute_script("return getComputedStyle(document.documentElement).backgroundColor")
            light = background()
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
            check(wait_until(lambda: background() == "rgb(20, 21, 23)", 3), f"dark mode follows the system ({light} → {background()})")
            driver.save_screenshot(os.path.join(SHOTS, "dashboard-dark.png"))
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})

            for width, name in [(1920, "wide"), (360, "narrow")]:
                driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                       {"width": width, "height": 1080 if width > 1000 else 800, "deviceScaleFactor": 1, "mobile": width < 1000})
                time.sleep(0.5)
                overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                check(overflow <= 0, f"no horizontal scroll at {width} px ({overflow} px over)")
                driver.save_screenshot(os.path.join(SHOTS, f"dashboard-{name}.png"))

            errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
            check(not errors, f"no console errors ({errors[:3]})")
            urls = set()
            for entry in driver.get_log("performance"):
                message = json.loads(entry["message"])["message"]
                if message.get("method") == "Network.requestWillBeSent":
                    urls.add(message["params"]["request"]["url"])
            foreign = [u for u in urls if not (u.startswith(sidecar + "/") or u.startswith("data:"))]
            check(urls and not foreign, f"every request went to the sidecar ({len(urls)} URLs; others: {foreign[:3]})")
        except BaseException:
            print_logs(work, ["cachette.log", "fake.log"])
            raise
        finally:
            if driver:
                driver.quit()
            stop_all()
    finish()


if __name__ == "__main__":
    main()
