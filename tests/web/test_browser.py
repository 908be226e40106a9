"""The console driven like a person, in a real headless Chromium (Debian's chromium and chromium-driver,
through selenium), against a real ``dlmskit web`` process and a real simulated meter.

Screenshots of every page go to ``build/test-artifacts/web/`` and are checked: the tree shows the objects,
the plot shows data (its canvas has drawn pixels).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dlmskit.simulator import SimulatorThread

from .conftest import AK, EK, TAMPER_TOKEN

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts" / "web"
SEED_TRACE = ROOT / "tests" / "translator" / "data" / "seed_001_trace.txt"
HAS_UPLOT = (ROOT / "src" / "dlmskit" / "web" / "static" / "vendor" / "uPlot.iife.min.js").exists()

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="no headless Chromium (apt-get install chromium chromium-driver, or make sysdeps)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def console(meter: SimulatorThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``dlmskit web`` as its own process, preset to reach the simulated meter."""
    port = _free_port()
    base = tmp_path_factory.mktemp("web-process")
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(base / "state"),
        "XDG_CONFIG_HOME": str(base / "config"),
        "XDG_DATA_HOME": str(base / "data"),  # no default head-end database: the dashboard is disabled
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "dlmskit", "web", "--web-port", str(port), "--port", str(meter.port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("dlmskit web did not start listening")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="dlmskit-chromium-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver: Any, seconds: float = 30) -> Any:
    return WebDriverWait(driver, seconds)


def _shot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 1000
    return path


def _message(driver: Any) -> str:
    return str(
        _wait(driver).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#message, #error"))).text
    )


def _click_for_message(driver: Any, element_id: str) -> str:
    """Click a form's button and return the message of the page that answers it (not the old page's)."""
    old = driver.find_elements(By.CSS_SELECTOR, "#message, #error")
    driver.find_element(By.ID, element_id).click()
    if old:
        _wait(driver).until(lambda _driver: _gone(old[0]))
    return _message(driver)


def _gone(element: Any) -> bool:
    """True once ``element`` left the page. Chromium answers a node of a page already replaced with either
    "stale element reference" or, now and then, "unhandled inspector error: Node with given id does not
    belong to the document": both mean the old page is gone."""
    from selenium.common.exceptions import WebDriverException

    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


def test_a_meter_engineers_day(browser: Any, console: str) -> None:
    driver = browser
    driver.get(console + "/explorer")
    _shot(driver, "explorer-not-connected")

    # Connect with HLS-GMAC, using the keyboard for the last step.
    Select(driver.find_element(By.ID, "authentication")).select_by_visible_text("gmac")
    driver.find_element(By.ID, "block_cipher_key").send_keys(EK)
    driver.find_element(By.ID, "authentication_key").send_keys(AK)
    driver.find_element(By.ID, "authentication_key").send_keys(Keys.ENTER)
    _wait(driver).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#tree, #error")))
    errors = driver.find_elements(By.ID, "error")
    assert not errors, errors[0].text
    tree = driver.find_element(By.ID, "tree")
    groups = tree.find_elements(By.CSS_SELECTOR, "details.class-group")
    assert len(groups) >= 5
    assert "Clock" in tree.text and "Disconnect control" in tree.text and "Profile generic" in tree.text
    _shot(driver, "explorer-tree")
    assert EK not in driver.page_source.upper()

    # Filter the tree, open the clock, read its time.
    driver.find_element(By.ID, "filter").send_keys("0.0.1.0.0")
    visible = [r for r in driver.find_elements(By.CSS_SELECTOR, "#tree tr[data-filter]") if r.is_displayed()]
    assert visible and all("0.0.1.0.0" in r.text for r in visible)
    driver.find_element(By.LINK_TEXT, "0.0.1.0.0.255").click()
    _wait(driver).until(ec.presence_of_element_located((By.ID, "read-2"))).click()
    value = _wait(driver).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#attr-2 .v"))).text
    assert value[:2] == "20" and ":" in value
    _shot(driver, "object-clock")

    # The relay: the meter starts in the tamper state; the tamper token lets it reconnect.
    driver.get(console + "/actions")
    assert "disconnected" in _click_for_message(driver, "disconnect")
    driver.find_element(By.ID, "token").send_keys(TAMPER_TOKEN)
    assert "token status:" in _click_for_message(driver, "enter-token")
    reconnected = _click_for_message(driver, "reconnect")
    assert "relay:" in reconnected
    assert "meter clock:" in _click_for_message(driver, "read-clock")
    _shot(driver, "actions")

    # The live trace: a request made from the page shows up as it happens.
    driver.get(console + "/trace")
    before = len(driver.find_elements(By.CSS_SELECTOR, "#frames li"))
    assert before > 0
    _wait(driver).until(lambda d: "live" in d.find_element(By.ID, "live").text)
    driver.execute_script(
        "const f = new FormData(); f.append('csrf', document.querySelector('meta[name=csrf-token]').content);"
        "fetch('/actions/clock', {method: 'POST', body: f});"
    )
    _wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#frames li")) >= before + 2)
    assert "GetRequest" in driver.find_element(By.ID, "frames").text
    _shot(driver, "trace")

    # A profile: progress, then the plot and the CSV link.
    driver.get(console + "/profile")
    last = driver.find_element(By.ID, "last")
    last.clear()
    last.send_keys("960")
    driver.find_element(By.ID, "read-profile").click()
    _wait(driver, 120).until(lambda d: d.find_element(By.ID, "job").get_attribute("data-state") == "done")
    assert driver.find_element(By.ID, "csv").is_displayed()
    if HAS_UPLOT:
        plot = _wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "#plot[data-series]"))
        assert int(plot.get_attribute("data-points")) == 960
        assert int(plot.get_attribute("data-series")) >= 1
        drawn = driver.execute_script(
            "const c = document.querySelector('#plot canvas'); const d = c.getContext('2d')"
            ".getImageData(0, 0, c.width, c.height).data; let n = 0;"
            "for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 0 && d[i + 2] > d[i] + 60) n++; } return n;"
        )
        assert drawn > 500, "the plot's canvas has no line drawn"
    _shot(driver, "profile")

    # The translator decodes the seed trace.
    driver.get(console + "/translate")
    box = driver.find_element(By.ID, "trace")
    driver.execute_script("arguments[0].value = arguments[1];", box, SEED_TRACE.read_text(encoding="utf-8"))
    driver.find_element(By.ID, "decode").click()
    output = _wait(driver).until(ec.presence_of_element_located((By.ID, "output"))).text
    assert "glo_ActionRequest" in output
    _shot(driver, "translator")

    driver.get(console + "/headend")
    assert "No head-end database is configured" in driver.find_element(By.ID, "headend-disabled").text
    _shot(driver, "headend")

    # A narrow window: everything still reachable, nothing wider than the screen.
    driver.set_window_size(390, 844)
    driver.get(console + "/explorer")
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400
    _shot(driver, "explorer-narrow")
    driver.set_window_size(1280, 900)


def test_the_page_is_usable_with_the_keyboard(browser: Any, console: str) -> None:
    driver = browser
    driver.get(console + "/translate")
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.text == "Skip to content"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    for _ in range(12):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        if driver.switch_to.active_element.get_attribute("id") == "trace":
            break
    assert driver.switch_to.active_element.get_attribute("id") == "trace"
    driver.switch_to.active_element.send_keys("7E A0 07 03 21 93 0F 01 7E")
    for _ in range(12):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        if driver.switch_to.active_element.get_attribute("id") == "decode":
            break
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    output = _wait(driver).until(ec.presence_of_element_located((By.ID, "output"))).text
    assert "SNRM" in output


@pytest.mark.slow
@pytest.mark.skipif(not HAS_UPLOT, reason="uPlot was not fetched (make web-assets)")
def test_a_profile_of_ten_thousand_entries_plots(browser: Any, console: str) -> None:
    driver = browser
    driver.get(console + "/explorer")
    if not driver.find_elements(By.ID, "tree"):
        Select(driver.find_element(By.ID, "authentication")).select_by_visible_text("gmac")
        driver.find_element(By.ID, "block_cipher_key").send_keys(EK)
        driver.find_element(By.ID, "authentication_key").send_keys(AK)
        driver.find_element(By.ID, "connect").click()
    driver.get(console + "/profile")
    last = driver.find_element(By.ID, "last")
    last.clear()
    last.send_keys("10000")  # the simulated buffer holds 10,000 entries
    driver.find_element(By.ID, "read-profile").click()
    _wait(driver, 300).until(lambda d: d.find_element(By.ID, "job").get_attribute("data-state") == "done")
    plot = _wait(driver, 60).until(lambda d: d.find_element(By.CSS_SELECTOR, "#plot[data-series]"))
    assert int(plot.get_attribute("data-points")) == 10000
    print(
        f"uPlot drew {plot.get_attribute('data-series')} series of 10000 points in {plot.get_attribute('data-draw-ms')} ms"
    )
    _shot(driver, "profile-10000")
