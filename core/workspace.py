"""Import files into a workspace and read it back: the one path the app, the CLI and the demo share."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from core import schema as S
from core.ingest import ValidationResult, load_table, read_table, validate_table
from core.store import ImportOutcome, import_result, load_workspace
from core.store.models import Workspace
from core.store.repo import content_hash

#: The bundled demo; ``CROSS_SELL_DEMO_DIR`` points at another folder with the same two files
#: (the app tests use the 60-customer fixture to stay fast).
DEMO_DIR = Path(os.environ.get("CROSS_SELL_DEMO_DIR") or Path(__file__).resolve().parents[1] / "data" / "demo")
DEMO_FILES = {S.CATALOG: "catalog.csv", S.ORDERS: "orders.csv"}


@dataclass(frozen=True)
class FileReport:
    """Validation and import outcome of one file (what the Data page and the CLI report)."""

    validation: ValidationResult
    outcome: ImportOutcome

    @property
    def summary(self) -> str:
        v, o = self.validation, self.outcome
        if o.skipped:
            return f"{v.file}: the same content was already imported into this workspace; nothing added"
        msg = (f"{v.file} ({v.kind}): {v.rows_loaded:,} of {v.rows_read:,} rows loaded, "
               f"{v.rows_rejected:,} rejected (encoding {v.encoding}"
               + (f", delimiter {v.delimiter!r}" if v.delimiter else "") + ")")
        if o.replaced:
            msg += f"; {o.replaced:,} stored rows replaced by the new version"
        if v.rows_read == 0:
            msg += "; the file has no data rows (only a header)"
        return msg


def import_files(engine: Engine, workspace: str, files: dict, mappings: dict | None = None,
                 reads: dict | None = None) -> list[FileReport]:
    """Validate and import files, catalog first (so order lines can be checked against it).

    Parameters
    ----------
    files : dict
        ``{kind: (file name, bytes)}`` with kind in ``core.schema.KINDS``.
    mappings : dict, optional
        ``{kind: {canonical: source column}}``; fields left out are suggested from the headers.
    reads : dict, optional
        ``{kind: ReadResult}`` already parsed from the same bytes (the Data page parses once for
        its preview); parsed here otherwise.

    Returns
    -------
    list of FileReport, in import order.

    Raises
    ------
    ValueError
        An unknown kind.
    SchemaError / MappingError
        A file is refused as a whole (nothing of it is written; files imported before it stay).
    """
    unknown = set(files) - set(S.KINDS)
    if unknown:
        raise ValueError(f"file kinds must be among {S.KINDS}, got {sorted(unknown)}")
    reports = []
    for kind in S.KINDS:
        if kind not in files or files[kind] is None:
            continue
        name, data = files[kind]
        read = (reads or {}).get(kind) or read_table(data, name)
        result = validate_table(read, kind, name, (mappings or {}).get(kind))
        outcome = import_result(engine, workspace, result, content_hash(data))
        reports.append(FileReport(result, outcome))
    return reports


def ensure_demo(engine: Engine) -> bool:
    """Load the bundled Instacart demo into workspace ``demo`` unless it is there already.

    Returns True when it was loaded now.
    """
    with engine.connect() as conn:
        if conn.execute(select(Workspace.id).where(Workspace.name == S.DEMO_WORKSPACE)).scalar() is not None:
            return False
    files = {k: (f, (DEMO_DIR / f).read_bytes()) for k, f in DEMO_FILES.items()}
    import_files(engine, S.DEMO_WORKSPACE, files)
    return True


def read_demo_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The demo's catalog and orders validated exactly as an upload would be (no database)."""
    cat = load_table((DEMO_DIR / DEMO_FILES[S.CATALOG]).read_bytes(), DEMO_FILES[S.CATALOG], S.CATALOG).valid
    orders = load_table((DEMO_DIR / DEMO_FILES[S.ORDERS]).read_bytes(), DEMO_FILES[S.ORDERS], S.ORDERS).valid
    return cat, orders, pd.DataFrame(columns=list(S.REVIEWS_COLUMNS))


__all__ = ["FileReport", "import_files", "ensure_demo", "read_demo_tables", "load_workspace", "DEMO_DIR"]
