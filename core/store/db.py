"""Engine factory: a SQLite file by default, ``DATABASE_URL`` to use another database."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine

from core.store.models import Base

DEFAULT_DB = Path(__file__).resolve().parents[2] / "var" / "crosssell.sqlite"


def default_url() -> str:
    """``DATABASE_URL`` if set, else ``sqlite:///<repo>/var/crosssell.sqlite``."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_DB}"


def make_engine(url: str | None = None) -> Engine:
    """Create an engine and the tables (idempotent).

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; defaults to :func:`default_url`. For SQLite files the folder is created,
        WAL journaling and foreign keys are switched on.
    """
    url = url or default_url()
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    Base.metadata.create_all(engine)
    _add_missing_columns(engine)
    return engine


def _add_missing_columns(engine: Engine) -> None:
    """Bring a database made by an earlier version up to date: add nullable columns the models
    declare but the tables lack (``ALTER TABLE ... ADD COLUMN`` works on SQLite and PostgreSQL)."""
    insp = inspect(engine)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in insp.get_columns(table.name)}
            for col in table.columns:
                if col.name not in have and col.nullable:
                    ddl = col.type.compile(dialect=engine.dialect)
                    conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{col.name}" {ddl}'))
