"""What every AppTest module shares: a temp SQLite database, the small Instacart fixture as the demo, and
helpers that run the app and switch pages (imported by tests/test_app*.py; pytest puts tests/ on sys.path)."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "instacart_small"


@contextmanager
def app_environment(db: Path):
    """DATABASE_URL -> ``db``, the demo -> tests/fixtures/instacart_small, Streamlit caches cleared before and
    after; the environment is restored on exit."""
    old = {k: os.environ.get(k) for k in ("DATABASE_URL", "CROSS_SELL_DEMO_DIR")}
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["CROSS_SELL_DEMO_DIR"] = str(FIXTURE)
    import core.workspace as ws
    ws.DEMO_DIR = FIXTURE
    import streamlit as st
    st.cache_resource.clear()
    st.cache_data.clear()
    try:
        yield db
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()
        ws.DEMO_DIR = ROOT / "data" / "demo"
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def new_app():
    """app.py run once (the Data page), asserting no exception."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(at, page: str):
    """Switch ``at`` to ``page`` (a path like 'pages/customers.py'), asserting no exception."""
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at
