"""Shared fixtures: a real SQLite file per test, the real packaged sentence model once per session,
and the Instacart fixture model built once per session.

No network: the Hugging Face hub is switched off before anything imports it.
"""
from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
INSTACART = FIXTURES / "instacart_small"
# the shared folder sits next to the checkout (/work/shared) or inside it (shared/)
from core.paths import shared_dir  # noqa: E402

SHARED_CASES = shared_dir() / "cases"


@pytest.fixture(scope="session")
def shared_case():
    """``shared_case(name)`` -> folder of a shared real-world case; skips when /work/shared is absent."""
    def get(name: str) -> Path:
        path = SHARED_CASES / name
        if not path.is_dir():
            pytest.skip(f"shared case {name!r} not found at {path} (the shared/ checkout is absent)")
        return path
    return get


@pytest.fixture(scope="session")
def instacart_dir() -> Path:
    return INSTACART


#: A PostgreSQL database the storage tests may empty at will (``.ci/run`` starts one on loopback).
PG_URL = os.environ.get("CROSS_SELL_TEST_PG_URL")


def _fresh_postgres():
    from sqlalchemy import create_engine

    from core.store.models import Base

    eng = create_engine(PG_URL)
    Base.metadata.drop_all(eng)
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """A fresh database with the product's tables: a SQLite file, and PostgreSQL when
    ``CROSS_SELL_TEST_PG_URL`` is set (required under CI=true, skipped otherwise)."""
    from core.store import make_engine

    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path}/t.sqlite")
    else:
        if not PG_URL:
            if os.environ.get("CI") == "true":
                pytest.fail("CI=true but CROSS_SELL_TEST_PG_URL is not set: .ci/run must start PostgreSQL")
            pytest.skip("PostgreSQL tests need CROSS_SELL_TEST_PG_URL (e.g. postgresql+psycopg://u:p@127.0.0.1/db)")
        _fresh_postgres()
        eng = make_engine(PG_URL)
    yield eng
    eng.dispose()
    if request.param == "postgresql":
        _fresh_postgres()


@pytest.fixture(scope="session")
def encoder():
    """The real packaged all-MiniLM-L6-v2, loaded (offline) once for the whole session."""
    from core.embeddings import Encoder

    enc = Encoder()
    enc.model  # load now, so a broken install fails here with ModelLoadError
    return enc


@pytest.fixture(scope="session")
def embedding_cache_engine(request, tmp_path_factory):
    """A SQLite embedding cache that outlives the session (pytest's cache folder).

    Encoding the fixture's 2,385 product texts takes ~40 s on two CPU cores; the product's own
    cache (core.embeddings.embed_cached, keyed by model id and text hash) makes later runs reuse
    the vectors the real model computed. ``pytest -p no:cacheprovider`` or ``--cache-clear`` gives
    a cold run.
    """
    from core.store import make_engine

    cache = getattr(request.config, "cache", None)
    folder = Path(cache.mkdir("cross-sell-embeddings")) if cache is not None else tmp_path_factory.mktemp("emb")
    eng = make_engine(f"sqlite:///{folder}/embeddings.sqlite")
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def instacart_tables():
    """(catalog, orders) of tests/fixtures/instacart_small as the product loads them."""
    from core.ingest import load_table

    cat = load_table((INSTACART / "catalog.csv").read_bytes(), "catalog.csv", "catalog")
    orders = load_table((INSTACART / "orders.csv").read_bytes(), "orders.csv", "orders")
    assert cat.rows_rejected == 0 and orders.rows_rejected == 0
    return cat.valid, orders.valid


@pytest.fixture(scope="session")
def instacart_model(instacart_tables, encoder, embedding_cache_engine):
    """ShopModel of the Instacart fixture, default settings, real encoder (built once per session)."""
    from core.embeddings import embed_cached
    from core.pipeline import build_model

    catalog, orders = instacart_tables

    def embed(texts, progress):
        vectors, _ = embed_cached(texts, encoder, embedding_cache_engine, progress)
        return vectors

    return build_model(catalog, orders, None, embed=embed)
