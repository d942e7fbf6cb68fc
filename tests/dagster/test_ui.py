"""The Dagster UI in a real browser: the five groups, an asset's SQL and columns, a failed check.

Headless Chromium (Debian's `chromium`, installed by the README's set-up) driven by
Playwright. Screenshots are saved under `test-artifacts/ui/`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from platform_assets.live.embedded import free_port
from tests.support.cli import dagster_cli
from tests.support.project import REPO, SYSTEMS

ARTIFACTS = REPO / "test-artifacts" / "ui"
CHROMIUM = os.environ.get("PLATFORM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def webserver(database, tmp_path: Path) -> Iterator[str]:
    """All five systems materialized, one column changed by hand and the verification job
    run (so a check has failed), then the webserver on that instance."""
    env = {**os.environ, "PLATFORM_DATABASE_URL": database.url, "DAGSTER_HOME": str(tmp_path)}
    materialized = dagster_cli(
        "asset", "materialize", "-m", "platform_assets.definitions", "--select", "*", env=env
    )
    assert materialized.returncode == 0, materialized.stderr[-3000:]
    with database.connect() as conn:
        conn.execute("ALTER TABLE wildduck.nodes ADD COLUMN note text")
    verified = dagster_cli(
        "job", "execute", "-m", "platform_assets.definitions", "-j", "verify_schema", env=env
    )
    assert verified.returncode == 0, verified.stderr[-3000:]

    port = free_port()
    log = (tmp_path / "webserver.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver")]
        + ["-m", "platform_assets.definitions", "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the webserver did not answer within 60 s"
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture
def page() -> Iterator[Page]:
    assert Path(CHROMIUM).exists(), (
        f"no Chromium at {CHROMIUM}: install Debian's `chromium` (README set-up) "
        "or set PLATFORM_CHROMIUM"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            browser.close()


def visit(page: Page, url: str) -> None:
    page.goto(url)
    # The first visit offers a newsletter sign-up over the page.
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=3_000)
        skip.click()
    except PlaywrightTimeout:
        pass


def test_asset_graph_asset_page_and_failed_check_in_the_browser(webserver, page):
    visit(page, f"{webserver}/asset-groups")
    for system in SYSTEMS:
        expect(page.get_by_text(system, exact=True).first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "asset-groups.png")

    visit(page, f"{webserver}/assets/wildduck/nodes")
    expect(page.get_by_text("Columns", exact=True)).to_be_visible()
    expect(page.get_by_text("ip_address", exact=True)).to_be_visible()
    expect(page.get_by_text("inet", exact=True)).to_be_visible()
    expect(page.get_by_text("CREATE TABLE wildduck.nodes").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "asset-wildduck-nodes.png", full_page=True)

    visit(page, f"{webserver}/assets/wildduck/nodes?view=checks")
    expect(page.get_by_text("in_sync").first).to_be_visible()
    expect(page.get_by_text("Failed").first).to_be_visible()
    expect(page.get_by_text("column note exists but is not declared")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "failed-check.png", full_page=True)
