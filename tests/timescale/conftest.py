"""The TimescaleDB test server for the tests of this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.timescale import TimescaleServer, timescale_server


@pytest.fixture(scope="module")
def server() -> Iterator[TimescaleServer]:
    with timescale_server() as url:
        yield TimescaleServer(url)


@pytest.fixture
def server_url(server: TimescaleServer) -> str:
    return server.url
