"""The store contract suite (``hynas.testing.stores``) on every store hynas ships: SQLite, PostgreSQL
(a real server; skipped without psycopg or a server unless HYNAS_REQUIRE_POSTGRES=1) and the
in-memory store."""

from __future__ import annotations

from pathlib import Path

import pytest

from hynas.core.errors import HynasError
from hynas.core.store import Store
from hynas.stores import MemoryStore, open_store
from hynas.testing.stores import StoreContract


class TestSQLiteStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return open_store(str(tmp_path / "contract.db"))


class TestPostgresStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        from pg_util import pg_store_url

        return open_store(pg_store_url())

    def dispose(self, store: Store) -> None:
        from pg_util import drop

        store.close()
        drop(store.location)


class TestMemoryStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return MemoryStore()


def test_the_memory_store_is_not_durable_and_refuses_use_after_close():
    st = MemoryStore()
    assert not st.durable and st.location == ""
    other = st.clone()
    st.close()
    with pytest.raises(HynasError, match="closed"):
        st.trials()
    assert other.trials() == []  # another handle stays open


def test_hynas_search_keeps_trials_in_memory_unless_given_a_store(tmp_path, monkeypatch):
    import hynas

    monkeypatch.chdir(tmp_path)
    kw = {"strategy": "random", "objectives": ("accuracy",), "budget": 4, "seed": 1}
    default = hynas.search(**kw)
    assert [r.number for r in default] == [0, 1, 2, 3] and list(tmp_path.iterdir()) == []
    st = MemoryStore()
    assert list(hynas.search(store=st, **kw)) == st.trials()
    assert [(r.arch, r.metrics) for r in st.trials()] == [(r.arch, r.metrics) for r in default]
    assert hynas.search(store=st, **{**kw, "budget": 6})[:4] == st.trials()[:4]  # resumed, not repeated
    assert len(st.trials()) == 6
