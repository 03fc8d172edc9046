"""A real PostgreSQL server for the store tests (``.ci/run`` starts one and makes it mandatory)."""

from __future__ import annotations

import os
import uuid

import pytest

PG_URL = os.environ.get("HYNAS_TEST_POSTGRES", "postgresql://hynas:hynas@127.0.0.1:5432/hynas_test")
REQUIRED = os.environ.get("HYNAS_REQUIRE_POSTGRES") == "1"


def pg_available() -> str | None:
    """``None`` when a server answers, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'hynas[postgres]')"
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL server at {PG_URL}: {str(exc).strip().splitlines()[0]}"
    return None


def pg_store_url() -> str:
    """A fresh store URL on the test server, or skip (fail when CI requires the server)."""
    why = pg_available()
    if why is not None:
        if REQUIRED:
            pytest.fail(f"HYNAS_REQUIRE_POSTGRES=1 but {why}")
        pytest.skip(why)
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}store=t{uuid.uuid4().hex[:12]}"


def drop(url: str) -> None:
    from hynas.stores.postgres import PostgresStore

    st = PostgresStore(url)
    st.drop()
    st.close()
