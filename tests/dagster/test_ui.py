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
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from platform_assets.live.embedded import free_port
from tests.support.cli import dagster_cli
from tests.support.project import REPO, SYSTEMS

ARTIFACTS = REPO / "test-artifacts" / "ui"
CHROMIUM = os.environ.get("PLATFORM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def webserver(database, tmp_path: Path) -> Iterator[str]:
    """All five systems materialized, one column changed by hand and the verification job
    run (so a check has failed), then the webserver on that instance."""
    env = {
        **os.environ,
        "PLATFORM_DATABASE_URL": database.url,
        "DAGSTER_HOME": str(dagster_home(tmp_path)),
    }
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

    with running_webserver(env, tmp_path / "webserver.log") as url:
        yield url


@contextmanager
def running_webserver(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`dagster-webserver` on the platform's definitions, until the block ends."""
    port = free_port()
    log = log_path.open("w")
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
                assert server.poll() is None, log_path.read_text()[-3000:]
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
        # What the page shows arrives over several queries to a busy code server: each
        # expectation waits for it as long as any page action may (Playwright's default
        # for expectations is 5 s, which a loaded 2-core machine can exceed).
        expect.set_options(timeout=30_000)
        try:
            yield page
        finally:
            browser.close()


def visit(page: Page, url: str) -> None:
    page.goto(url)


def dagster_home(path: Path) -> Path:
    """An instance directory whose first-visit community dialog counts as seen (Dagster
    keeps that in `.nux/nux.yaml`), so it never covers the page."""
    (path / ".nux").mkdir(parents=True, exist_ok=True)
    (path / ".nux" / "nux.yaml").write_text("seen: 1\n")
    return path


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


# A schema no run has touched: what the asset page shows comes from the definitions alone.
DECLARED_SCHEMA = """\
CREATE SCHEMA shop;
-- platform: owners=team:storefront,ada@example.com
CREATE TABLE shop.customers (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    signed_up_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN shop.customers.email IS 'Where receipts are sent, as the customer typed it';
"""


@pytest.fixture
def declared_webserver(database, project, tmp_path: Path) -> Iterator[str]:
    """The webserver on a project whose schema was never materialized."""
    schema_file = project.write("sql/shop.sql", DECLARED_SCHEMA)
    env = {
        **os.environ,
        "PLATFORM_PROJECT_DIR": str(project.root),
        "PLATFORM_DATABASE_URL": database.url,
        "DAGSTER_HOME": str(dagster_home(tmp_path / "home")),
    }
    with running_webserver(env, tmp_path / "webserver.log") as url:
        yield url, schema_file


def test_never_materialized_table_shows_name_source_columns_and_comment(declared_webserver, page):
    url, schema_file = declared_webserver
    visit(page, f"{url}/assets/shop/customers")
    expect(page.get_by_text("Never materialized").first).to_be_visible()
    # dagster/table_name, shown as the asset's storage.
    expect(page.get_by_text("shop.customers", exact=True).first).to_be_visible()
    # The code reference: a link to the declaring file and line.
    source = page.locator(f'a[href="vscode://file/{schema_file}:3"]')
    expect(source).to_be_visible()
    expect(source).to_contain_text("sql/shop.sql:3")
    expect(page.get_by_text("ada@example.com").first).to_be_visible()
    # The column schema from the declaration, with the column's comment.
    expect(page.get_by_text("Columns", exact=True)).to_be_visible()
    for column in ("id", "email", "signed_up_at"):
        expect(page.get_by_text(column, exact=True).first).to_be_visible()
    expect(page.get_by_text("timestamptz", exact=True).first).to_be_visible()
    expect(page.get_by_text("non-nullable").first).to_be_visible()
    expect(
        page.get_by_text("Where receipts are sent, as the customer typed it").first
    ).to_be_visible()
    page.screenshot(path=ARTIFACTS / "declared-table.png", full_page=True)
