"""The storage operations the product needs. Each import runs in one transaction."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine

from core import schema as S
from core.errors import WorkspaceError
from core.ingest.validate import ValidationResult
from core.store.models import EmbeddingCache, ImportLog, OrderLine, Product, Review, Workspace

_NAME_RE = re.compile(r"^[\w .\-]{1,100}$")
_CHUNK = 500
_TABLES = {S.CATALOG: Product, S.ORDERS: OrderLine, S.REVIEWS: Review}


def content_hash(data: bytes) -> str:
    """sha256 hex digest of a file's bytes (the identity of an upload)."""
    return hashlib.sha256(data).hexdigest()


def ensure_workspace(engine: Engine, name: str) -> int:
    """Return the id of workspace ``name``, creating it. Raises WorkspaceError for an invalid name."""
    if not isinstance(name, str) or not _NAME_RE.match(name.strip()):
        raise WorkspaceError(f"workspace name must be 1-100 letters, digits, spaces, '.', '-' or '_', got {name!r}")
    name = name.strip()
    with engine.begin() as conn:
        wid = conn.execute(select(Workspace.id).where(Workspace.name == name)).scalar()
        if wid is None:
            wid = conn.execute(insert(Workspace).values(name=name).returning(Workspace.id)).scalar_one()
    return int(wid)


def _workspace_id(conn, name: str) -> int:
    wid = conn.execute(select(Workspace.id).where(Workspace.name == name)).scalar()
    if wid is None:
        raise WorkspaceError(f"workspace {name!r} does not exist")
    return int(wid)


def list_workspaces(engine: Engine) -> pd.DataFrame:
    """Columns: name, products, order_lines, reviews, created_at."""
    with engine.connect() as conn:
        ws = pd.DataFrame(conn.execute(select(Workspace.id, Workspace.name, Workspace.created_at)).all(),
                          columns=["id", "name", "created_at"])
        for label, model in (("products", Product), ("order_lines", OrderLine), ("reviews", Review)):
            counts = dict(conn.execute(select(model.workspace_id, func.count()).group_by(model.workspace_id)).all())
            ws[label] = [int(counts.get(i, 0)) for i in ws["id"]]
    return ws.drop(columns="id")[["name", "products", "order_lines", "reviews", "created_at"]]


def delete_workspace(engine: Engine, name: str) -> None:
    """Delete a workspace and everything in it (one transaction)."""
    with engine.begin() as conn:
        wid = _workspace_id(conn, name)
        for model in (OrderLine, Review, Product, ImportLog):
            conn.execute(delete(model).where(model.workspace_id == wid))
        conn.execute(delete(Workspace).where(Workspace.id == wid))


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did.

    ``skipped`` is True when the same bytes were already imported into this workspace as this kind
    (nothing was written). ``replaced`` counts stored rows superseded by the new file (products with
    the same product_id, order lines of the same order_id).
    """

    kind: str
    file: str
    skipped: bool
    rows_loaded: int
    replaced: int = 0
    unknown_products: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[S.PRODUCT_ID, "lines"]))


def _column_values(col: pd.Series) -> list:
    """Python values for the DB driver: None for every kind of missing, datetimes as datetime."""
    if pd.api.types.is_datetime64_any_dtype(col):
        return [None if v is pd.NaT else v.to_pydatetime() for v in col.astype(object).where(col.notna(), pd.NaT)]
    return col.astype(object).where(col.notna().to_numpy(dtype=bool), None).tolist()


def _records(frame: pd.DataFrame, columns, wid: int) -> list[dict]:
    cols = [c for c in columns if c in frame.columns]
    values = [_column_values(frame[c]) for c in cols]
    cols.append("workspace_id")
    values.append([wid] * len(frame))
    return [dict(zip(cols, row)) for row in zip(*values)]


def import_result(engine: Engine, workspace: str, result: ValidationResult, digest: str) -> ImportOutcome:
    """Write a validated file into ``workspace`` in one transaction.

    Catalog rows upsert by product_id; order lines replace stored lines of the same order_id; reviews
    append. The same content (``digest``) imported twice as the same kind is skipped.

    Parameters
    ----------
    engine : Engine
    workspace : str
        Created if missing.
    result : ValidationResult
        Only ``result.valid`` is written; rejects are the caller's to show.
    digest : str
        :func:`content_hash` of the uploaded bytes.

    Returns
    -------
    ImportOutcome
    """
    wid = ensure_workspace(engine, workspace)
    model = _TABLES[result.kind]
    frame = result.valid
    replaced = 0
    with engine.begin() as conn:
        seen = conn.execute(select(ImportLog.id).where(ImportLog.workspace_id == wid, ImportLog.kind == result.kind,
                                                       ImportLog.content_hash == digest)).scalar()
        if seen is not None:
            return ImportOutcome(result.kind, result.file, True, 0, 0, _unknown_products(conn, wid))
        key = {S.CATALOG: S.PRODUCT_ID, S.ORDERS: S.ORDER_ID}.get(result.kind)
        if key is not None and len(frame):
            has_rows = conn.execute(select(func.count()).select_from(model).where(model.workspace_id == wid)).scalar()
            if has_rows:
                keys = pd.unique(frame[key]).tolist()
                col = getattr(model, key)
                for i in range(0, len(keys), _CHUNK):
                    replaced += conn.execute(delete(model).where(model.workspace_id == wid,
                                                                 col.in_(keys[i:i + _CHUNK]))).rowcount
        records = _records(frame, S.COLUMNS[result.kind], wid)
        for i in range(0, len(records), 20000):
            conn.execute(insert(model), records[i:i + 20000])
        conn.execute(insert(ImportLog).values(
            workspace_id=wid, kind=result.kind, file_name=result.file, content_hash=digest,
            rows_read=result.rows_read, rows_loaded=result.rows_loaded, rows_rejected=result.rows_rejected,
            encoding=result.encoding, delimiter=result.delimiter))
        unknown = _unknown_products(conn, wid)
    return ImportOutcome(result.kind, result.file, False, len(frame), int(replaced), unknown)


def _unknown_products(conn, wid: int) -> pd.DataFrame:
    known = select(Product.product_id).where(Product.workspace_id == wid)
    rows = conn.execute(select(OrderLine.product_id, func.count()).where(
        OrderLine.workspace_id == wid, OrderLine.product_id.not_in(known)).group_by(OrderLine.product_id)
        .order_by(func.count().desc())).all()
    return pd.DataFrame(rows, columns=[S.PRODUCT_ID, "lines"])


def list_imports(engine: Engine, workspace: str) -> pd.DataFrame:
    """The import log of a workspace, newest first."""
    with engine.connect() as conn:
        wid = _workspace_id(conn, workspace)
        rows = conn.execute(select(ImportLog.created_at, ImportLog.kind, ImportLog.file_name, ImportLog.rows_read,
                                   ImportLog.rows_loaded, ImportLog.rows_rejected, ImportLog.encoding,
                                   ImportLog.delimiter, ImportLog.content_hash)
                            .where(ImportLog.workspace_id == wid).order_by(ImportLog.id.desc())).all()
    return pd.DataFrame(rows, columns=["time", "kind", "file", "rows_read", "rows_loaded", "rows_rejected",
                                       "encoding", "delimiter", "content_hash"])


@dataclass(frozen=True)
class WorkspaceData:
    """The canonical tables of one workspace.

    ``fingerprint`` changes whenever any import changes the data: use it as a cache key.
    """

    name: str
    catalog: pd.DataFrame
    orders: pd.DataFrame
    reviews: pd.DataFrame
    fingerprint: str

    def unknown_products(self) -> pd.DataFrame:
        """Products named by order lines but absent from the catalog: product_id, lines."""
        known = set(self.catalog[S.PRODUCT_ID])
        mask = ~self.orders[S.PRODUCT_ID].isin(known)
        vc = self.orders.loc[mask, S.PRODUCT_ID].value_counts()
        return pd.DataFrame({S.PRODUCT_ID: vc.index.astype(str), "lines": vc.to_numpy()})


def _frame(conn, model, wid: int, columns) -> pd.DataFrame:
    sel = select(*[getattr(model, c) for c in columns]).where(model.workspace_id == wid)
    # a stable order on every database: catalog by product_id, lines and reviews as imported
    sel = sel.order_by(Product.product_id if model is Product else model.id)
    rows = conn.execute(sel).all()
    return pd.DataFrame(rows, columns=list(columns))


def _fingerprint(conn, workspace: str, wid: int) -> str:
    hashes = conn.execute(select(ImportLog.kind, ImportLog.content_hash).where(ImportLog.workspace_id == wid)
                          .order_by(ImportLog.id)).all()
    fp = hashlib.sha256("|".join(f"{k}:{h}" for k, h in hashes).encode()).hexdigest()[:16]
    return f"{workspace}:{fp}"


def workspace_fingerprint(engine: Engine, workspace: str) -> str:
    """A key that changes whenever an import changes the workspace (cheap: reads the import log only)."""
    with engine.connect() as conn:
        return _fingerprint(conn, workspace, _workspace_id(conn, workspace))


def load_workspace(engine: Engine, workspace: str) -> WorkspaceData:
    """Read a workspace's catalog, orders and reviews as typed frames (columns from core.schema)."""
    with engine.connect() as conn:
        wid = _workspace_id(conn, workspace)
        catalog = _frame(conn, Product, wid, S.CATALOG_COLUMNS)
        orders = _frame(conn, OrderLine, wid, S.ORDERS_COLUMNS)
        reviews = _frame(conn, Review, wid, S.REVIEWS_COLUMNS)
        fp = _fingerprint(conn, workspace, wid)
    for frame, cols in ((catalog, (S.PRICE,)), (orders, (S.PRICE,)), (reviews, (S.RATING,))):
        for c in cols:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    for c in (S.ORDERED_AT,):
        orders[c] = pd.to_datetime(orders[c])
    orders[S.QUANTITY] = orders[S.QUANTITY].astype("int64")
    orders[S.ORDER_NUMBER] = pd.array(orders[S.ORDER_NUMBER], dtype="Int64")
    return WorkspaceData(workspace, catalog, orders, reviews, fp)


def get_cached_vectors(engine: Engine, model_id: str, hashes: list[str]) -> dict[str, np.ndarray]:
    """Cached vectors for the given text hashes (missing hashes are simply absent)."""
    out: dict[str, np.ndarray] = {}
    uniq = list(dict.fromkeys(hashes))
    with engine.connect() as conn:
        for i in range(0, len(uniq), _CHUNK):
            rows = conn.execute(select(EmbeddingCache.text_hash, EmbeddingCache.vector).where(
                EmbeddingCache.model_id == model_id, EmbeddingCache.text_hash.in_(uniq[i:i + _CHUNK]))).all()
            for h, blob in rows:
                out[h] = np.frombuffer(blob, dtype=np.float32)
    return out


def put_cached_vectors(engine: Engine, model_id: str, hashes: list[str], vectors: np.ndarray) -> None:
    """Store vectors (float32, (n, d)) for text hashes; existing keys are left as they are."""
    if len(hashes) == 0:
        return
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    existing = set(get_cached_vectors(engine, model_id, list(hashes)))
    recs, seen = [], set()
    for h, v in zip(hashes, vectors):
        if h in existing or h in seen:
            continue
        seen.add(h)
        recs.append({"model_id": model_id, "text_hash": h, "dim": int(v.shape[0]), "vector": v.tobytes()})
    with engine.begin() as conn:
        for i in range(0, len(recs), 5000):
            conn.execute(insert(EmbeddingCache), recs[i:i + 5000])
