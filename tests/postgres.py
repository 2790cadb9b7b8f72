"""A PostgreSQL schema of its own for each test, on the server CI starts (.ci/postgres)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

# Read once, at import: every test's environment is cleared of DREAMBOT_* (conftest).
URL = os.environ.get("DREAMBOT_TEST_DATABASE_URL")


def server_url() -> str:
    """The test server's URL; skips the test without one (fails it in CI, which has one)."""
    if not URL:
        if os.environ.get("CI"):
            pytest.fail("CI sets DREAMBOT_TEST_DATABASE_URL (.ci/run starts PostgreSQL)")
        pytest.skip("needs PostgreSQL: bash .ci/run starts one and sets DREAMBOT_TEST_DATABASE_URL")
    return URL


@contextlib.contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL whose connections work in a new, empty schema, dropped afterwards."""
    import psycopg

    url = server_url()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
