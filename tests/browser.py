"""Helpers for tests that drive a real dashboard server in headless Chromium (Debian's package)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out, which this sandbox refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHART = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'


def ensure_chromium() -> str:
    """Path of Chromium, installed with apt-get when missing. Under CI a missing browser fails."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    give_up = pytest.fail if os.environ.get("CI") else pytest.skip
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        give_up(f"{CHROMIUM} is missing and apt-get cannot install it here (not root or no apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            give_up(f"cannot install chromium: `{' '.join(command)}` failed: {done.stderr[-500:]}")
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_healthy(url: str, server: subprocess.Popen, log: Path | None = None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}: {log.read_text() if log else ''}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"the dashboard at {url} did not become healthy in {timeout:.0f}s")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()  # `ttsw app` and `ttsw demo` stop their Streamlit child on SIGTERM
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def served_dashboard(home_root: Path, log_dir: Path) -> Iterator[str]:
    """`ttsw --home HOME app` on a free port; yields its URL once healthy, stops it afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = log_dir / "ttsw-app.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "ttsw", "--home", str(home_root), "app", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(url, process, log)
        yield url
    finally:
        stop_server(process)


@contextmanager
def chromium_page(executable: str, width: int = 1400, height: int = 1000) -> Iterator:
    """A Playwright page in headless Chromium, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def open_scaling_page(page, url: str, screenshot: str) -> None:
    """Open the scaling-curve page, wait for its chart and the simulated-data banner, check that no
    exception is shown, and keep a screenshot in test-artifacts/."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(CHART, state="visible", timeout=30_000)
    page.get_by_text("Simulated data:").first.wait_for(timeout=10_000)
    page.wait_for_timeout(1000)  # let vega finish drawing before the screenshot
    assert page.locator('[data-testid="stException"]').count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)


def check_page(page, url: str, heading: str, charts: int, tables: int = 0, screenshot: str | None = None) -> None:
    """Open a dashboard page, wait for its heading, exactly `charts` Vega charts and at least `tables`
    drawn data frames, check that no exception is shown, and keep a screenshot in test-artifacts/."""
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=30_000)
    page.wait_for_function(f"document.querySelectorAll('{CHART}').length >= {charts}", timeout=30_000)
    if tables:
        page.wait_for_function(
            f"""document.querySelectorAll('[data-testid="stDataFrame"] canvas').length >= {tables}""", timeout=30_000)
    page.wait_for_timeout(2000)  # let vega and the tables finish drawing before the screenshot
    assert page.locator('[data-testid="stVegaLiteChart"]').count() == charts, url
    assert page.locator('[data-testid="stException"]').count() == 0, url
    if screenshot:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
