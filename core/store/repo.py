"""The storage operations the product needs. Each import runs in one transaction."""
from __future__ import annotations

import datetime
import hashlib
import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.engine import Engine

from core import schema as S
from core.errors import WorkspaceError
from core.ingest.validate import ValidationResult
from core.store.models import AppSetting, EmbeddingCache, ImportLog, MappingPreset, OrderLine, Product, Review, Workspace

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
        for model in (OrderLine, Review, Product, ImportLog, MappingPreset):
            conn.execute(delete(model).where(model.workspace_id == wid))
        conn.execute(delete(Workspace).where(Workspace.id == wid))


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did.

    ``skipped`` is True when these exact bytes are already the latest import of this kind in this
    workspace (nothing was written). ``added`` / ``changed`` / ``unchanged`` count catalog products
    (by product_id), orders (by order_id) or reviews; ``replaced`` counts stored rows superseded by
    the new file.
    """

    kind: str
    file: str
    skipped: bool
    rows_loaded: int
    replaced: int = 0
    unknown_products: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[S.PRODUCT_ID, "lines"]))
    added: int = 0
    changed: int = 0
    unchanged: int = 0


def _column_values(col: pd.Series, proc=None) -> list:
    """Python values for the DB driver: None for every kind of missing, datetimes as datetime.

    ``proc``, a column type's bind processor, is applied to every present value (once per distinct
    timestamp: a million order lines hold far fewer).
    """
    if pd.api.types.is_datetime64_any_dtype(col):
        if col.dtype == np.dtype("datetime64[ns]") and proc is not None and _iso_text_proc(proc):
            # the processor writes ISO text with microseconds (SQLite): numpy writes the same, in C
            arr = col.to_numpy()
            text = np.char.replace(np.datetime_as_string(arr, unit="us"), "T", " ").astype(object)
            text[np.isnat(arr)] = None
            return text.tolist()
        codes, uniques = pd.factorize(col.to_numpy(), use_na_sentinel=True)
        vals = np.empty(len(uniques) + 1, dtype=object)
        if uniques.dtype == np.dtype("datetime64[ns]"):
            # naive: numpy builds the datetimes in C, floored to microseconds as to_pydatetime does
            py = (uniques.view("i8") // 1000).astype("datetime64[us]").tolist()
        else:
            py = [v.to_pydatetime() for v in pd.Series(uniques, dtype=col.dtype).astype(object)]
        vals[:-1] = py if proc is None else [proc(v) for v in py]
        vals[-1] = None
        return vals[codes].tolist()
    if col.dtype.kind in "iub":  # numpy ints and bools: never missing
        values = col.to_numpy().tolist()
    elif col.dtype.kind == "f":
        arr = col.to_numpy()
        nan = np.isnan(arr)
        values = np.where(nan, None, arr.astype(object)).tolist() if nan.any() else arr.tolist()
    else:
        values = col.astype(object).where(col.notna().to_numpy(dtype=bool), None).tolist()
    return values if proc is None else [None if v is None else proc(v) for v in values]


_PROBE = datetime.datetime(2001, 2, 3, 4, 5, 6, 7)


def _iso_text_proc(proc) -> bool:
    """Whether a DateTime bind processor turns a datetime into ``YYYY-MM-DD HH:MM:SS.ffffff`` text."""
    try:
        return proc(_PROBE) == "2001-02-03 04:05:06.000007"
    except Exception:  # pragma: no cover - a processor that wants other input
        return False


def _records(frame: pd.DataFrame, columns, wid: int) -> list[dict]:
    cols = [c for c in columns if c in frame.columns]
    values = [_column_values(frame[c]) for c in cols]
    cols.append("workspace_id")
    values.append([wid] * len(frame))
    return [dict(zip(cols, row)) for row in zip(*values)]


#: rows converted at a time: bounds the Python objects alive at once on large imports
_WRITE_SLICE = 20_000
#: parameters per INSERT statement: SQLite's smallest limit (999 before 3.32), far below PostgreSQL's
_MAX_PARAMS = 999
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _insert_frame(conn, model, frame: pd.DataFrame, columns, wid: int) -> None:
    """Insert ``frame``'s ``columns`` (those it has) as rows of ``model`` in workspace ``wid``.

    The rows go to the DB driver's ``executemany`` as positional parameters, many rows per
    ``INSERT ... VALUES (...), (...)`` statement, converted with the column types' own bind
    processors: what ``insert(model)`` with one dict per row does, without SQLAlchemy's per-row and
    per-value Python work (a million order lines: seconds). Columns the frame lacks get their scalar
    defaults. A dialect with another parameter style, or a column with a callable default, takes the
    ``insert(model)`` path.
    """
    table = model.__table__
    cols = [c for c in columns if c in frame.columns]
    missing = [c for c in table.columns if c.name not in cols and c.name != "workspace_id"
               and c.default is not None]
    mark = _PLACEHOLDER.get(conn.dialect.paramstyle)
    if mark is None or not all(c.default.is_scalar for c in missing):
        for i in range(0, len(frame), _WRITE_SLICE):  # records built per slice: bounded memory on big files
            conn.execute(insert(model), _records(frame.iloc[i:i + _WRITE_SLICE], columns, wid))
        return
    defaults = [c.default.arg for c in missing]
    names = [*cols, "workspace_id", *(c.name for c in missing)]
    prep = conn.dialect.identifier_preparer
    head = (f"INSERT INTO {prep.format_table(table)} "
            f"({', '.join(prep.format_column(table.c[n]) for n in names)}) VALUES ")
    row = f"({', '.join([mark] * len(names))})"
    per = max(1, _MAX_PARAMS // len(names))  # rows per statement
    procs = [table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in cols]
    k = len(names)
    for i in range(0, len(frame), _WRITE_SLICE):
        part = frame.iloc[i:i + _WRITE_SLICE]
        n = len(part)
        # one (rows, columns) array of Python objects; each statement's parameters are a run of its rows
        grid = np.empty((n, k), dtype=object)
        for j, (c, proc) in enumerate(zip(cols, procs)):
            grid[:, j] = _column_values(part[c], proc)
        grid[:, len(cols)] = wid
        for j, v in enumerate(defaults, start=len(cols) + 1):
            grid[:, j] = v
        whole = n // per * per
        if whole:
            conn.exec_driver_sql(head + ", ".join([row] * per),
                                 list(map(tuple, grid[:whole].reshape(-1, per * k).tolist())))
        if whole < n:
            conn.exec_driver_sql(head + row, list(map(tuple, grid[whole:].tolist())))


def _existing(conn, model, wid: int, key: str, keys: list, columns, max_id: int | None = None) -> pd.DataFrame:
    """Stored rows of ``model`` whose ``key`` is in ``keys`` (and whose id is <= ``max_id`` when given)."""
    col = getattr(model, key)
    rows = []
    for i in range(0, len(keys), _CHUNK):
        where = [model.workspace_id == wid, col.in_(keys[i:i + _CHUNK])]
        if max_id is not None:
            where.append(model.id <= max_id)
        rows += conn.execute(select(*[getattr(model, c) for c in columns]).where(*where)).all()
    return pd.DataFrame(rows, columns=list(columns))


def _comparable(frame: pd.DataFrame, columns) -> pd.Series:
    """One hashable tuple per row (missing -> None, floats rounded) for change detection."""
    parts = []
    for c in columns:
        vals = _column_values(frame[c]) if c in frame else [None] * len(frame)
        parts.append([round(v, 9) if isinstance(v, float) else v for v in vals])
    return pd.Series(list(zip(*parts)), index=frame.index, dtype=object)


def _diff_by_key(conn, model, wid: int, frame: pd.DataFrame, key: str, columns) -> tuple[set, set, set]:
    """(added, changed, unchanged) keys of ``frame`` against what is stored (per key, all its rows)."""
    keys = pd.unique(frame[key]).tolist()
    old = _existing(conn, model, wid, key, keys, columns)
    new_sig = _comparable(frame, columns).groupby(frame[key].to_numpy()).agg(lambda s: tuple(sorted(s, key=repr)))
    if old.empty:
        return set(keys), set(), set()
    old_sig = _comparable(old, columns).groupby(old[key].to_numpy()).agg(lambda s: tuple(sorted(s, key=repr)))
    added = set(keys) - set(old_sig.index)
    same = {k for k in set(keys) & set(old_sig.index) if old_sig[k] == new_sig[k]}
    return added, set(keys) - added - same, same


def import_result(engine: Engine, workspace: str, result: ValidationResult, digest: str,
                  report: dict | None = None) -> ImportOutcome:
    """Write a validated file into ``workspace`` in one transaction (all of it or nothing).

    :func:`import_stream` with ``result.valid`` as the only chunk; see there for what is written.

    Parameters
    ----------
    engine : Engine
    workspace : str
        Created if missing.
    result : ValidationResult
        Only ``result.valid`` is written (plus its ``line_type`` column when present); rejects are
        the caller's to show.
    digest : str
        :func:`content_hash` of the uploaded bytes.
    report : dict, optional
        JSON-serialisable details stored in the import log (warnings, cleaning counts, ...).

    Returns
    -------
    ImportOutcome
    """
    return import_stream(engine, workspace, result.kind, digest, [result.valid], lambda: (result, report))


def import_stream(engine: Engine, workspace: str, kind: str, digest: str, chunks, finish) -> ImportOutcome:
    """Write a file's valid rows, given chunk by chunk, into ``workspace`` in one transaction.

    * catalog: upsert by product_id (added / changed / unchanged products are counted; unchanged
      rows are not rewritten);
    * orders: the lines of each order_id in the file replace the stored lines of that order (an
      order whose lines are all identical to the stored ones is unchanged and not rewritten);
    * reviews: appended, except rows identical (product_id, text, rating, customer_id, created_at)
      to a review stored before this import.

    Importing bytes that are already the latest import of this kind is skipped (the chunks are still
    consumed, so the caller's validation completes; nothing is written); re-importing an older file
    after a newer one applies it again (its content is what the user wants now). The chunks are
    consumed inside the transaction: an exception from them (or a killed process) leaves the database
    as it was.

    Memory: one chunk at a time, plus the file's distinct order ids (orders) or product ids of
    unknown products; an orders file into a workspace that already holds orders is written first
    and then reconciled order by order in the database (500 orders at a time).

    Parameters
    ----------
    engine : Engine
    workspace : str
        Created if missing.
    kind : {'catalog', 'orders', 'reviews'}
    digest : str
        :func:`content_hash` of the uploaded bytes.
    chunks : iterable of pandas.DataFrame
        The valid rows (``ValidationResult.valid`` columns, plus ``line_type`` for orders), in file
        order; product ids are unique across a catalog's chunks (validation rejects duplicates).
    finish : callable
        Called once after the last chunk; returns ``(ValidationResult, report dict or None)`` for the
        import log (counts, encoding, mapping, warnings).

    Returns
    -------
    ImportOutcome

    Raises
    ------
    ValueError
        Unknown ``kind``.
    """
    if kind not in _TABLES:
        raise ValueError(f"kind must be one of {S.KINDS}, got {kind!r}")
    wid = ensure_workspace(engine, workspace)
    model = _TABLES[kind]
    key = {S.CATALOG: S.PRODUCT_ID, S.ORDERS: S.ORDER_ID}.get(kind)
    replaced = n_added = n_changed = n_same = n_rows = 0
    with engine.begin() as conn:
        latest = conn.execute(select(ImportLog.content_hash).where(
            ImportLog.workspace_id == wid, ImportLog.kind == kind).order_by(ImportLog.id.desc()).limit(1)).scalar()
        if latest == digest:
            for _ in chunks:
                pass
            result, _ = finish()
            return ImportOutcome(kind, result.file, True, 0, 0, _unknown_products(conn, wid))
        # an older import of the same bytes is re-applied: its log row moves to the top
        conn.execute(delete(ImportLog).where(ImportLog.workspace_id == wid, ImportLog.kind == kind,
                                             ImportLog.content_hash == digest))
        has_rows = conn.execute(select(model.workspace_id).where(model.workspace_id == wid).limit(1)).first() \
            is not None
        # rows stored before this import have ids <= last_id (orders, reviews)
        last_id = None if kind == S.CATALOG else conn.execute(
            select(func.max(model.id)).where(model.workspace_id == wid)).scalar() or 0
        keys: set = set()      # orders: the file's order ids
        compared = list(S.COLUMNS[kind])  # the columns that tell a changed order from an unchanged one
        unknown: dict = {}     # first orders import: product id -> product lines, for products not in the catalog
        known = (set(conn.execute(select(Product.product_id).where(Product.workspace_id == wid)).scalars())
                 if kind == S.ORDERS and not has_rows else None)
        for frame in chunks:
            if not len(frame):
                continue
            n_rows += len(frame)
            columns = list(S.COLUMNS[kind]) + ([S.LINE_TYPE] if S.LINE_TYPE in frame.columns else [])
            compared = columns
            write = frame
            if kind == S.CATALOG:
                if has_rows:
                    added, changed, same = _diff_by_key(conn, model, wid, frame, key, columns)
                    write = frame[frame[key].isin(added | changed)]
                    stale = list(changed)
                    for i in range(0, len(stale), _CHUNK):
                        replaced += conn.execute(delete(model).where(
                            model.workspace_id == wid, model.product_id.in_(stale[i:i + _CHUNK]))).rowcount
                    n_added, n_changed, n_same = n_added + len(added), n_changed + len(changed), n_same + len(same)
                else:
                    n_added += len(frame)
            elif kind == S.ORDERS:
                keys.update(pd.unique(frame[key]).tolist())
                if known is not None:
                    _count_unknown(frame, known, unknown)
            elif has_rows:
                sig_cols = list(S.REVIEWS_COLUMNS)
                old = _existing(conn, model, wid, S.PRODUCT_ID, pd.unique(frame[S.PRODUCT_ID]).tolist(), sig_cols,
                                max_id=last_id)
                known_sig = set(_comparable(old, sig_cols))
                write = frame[~_comparable(frame, sig_cols).isin(known_sig).to_numpy()]
            if kind == S.REVIEWS:
                n_added, n_same = n_added + len(write), n_same + len(frame) - len(write)
            _insert_frame(conn, model, write, columns, wid)
        if kind == S.ORDERS:
            if has_rows:
                n_added, n_changed, n_same, replaced = _reconcile_orders(conn, wid, sorted(keys), last_id,
                                                                       compared)
            else:
                n_added = len(keys)
        result, report = finish()
        conn.execute(insert(ImportLog).values(
            workspace_id=wid, kind=kind, file_name=result.file, content_hash=digest,
            rows_read=result.rows_read, rows_loaded=result.rows_loaded, rows_rejected=result.rows_rejected,
            encoding=result.encoding, delimiter=result.delimiter, added=n_added, changed=n_changed,
            unchanged=n_same, mapping=json.dumps(result.mapping, ensure_ascii=False),
            report=json.dumps(report or {"warnings": list(result.warnings)}, ensure_ascii=False, default=str)))
        # the first order lines of a workspace were counted while written, not by a full scan
        unknown = _unknown_products(conn, wid, unknown if known is not None else None)
    return ImportOutcome(kind, result.file, False, n_rows, int(replaced), unknown, n_added, n_changed, n_same)


def _count_unknown(lines: pd.DataFrame, known: set, into: dict) -> None:
    """Add the product lines (line_type missing, product or not_in_catalog) of products not in ``known``
    to ``into`` ({product id: lines})."""
    ids = lines[S.PRODUCT_ID]
    mask = ~ids.isin(known)
    if S.LINE_TYPE in lines:
        mask &= lines[S.LINE_TYPE].isna() | lines[S.LINE_TYPE].isin((S.PRODUCT_LINE, "not_in_catalog"))
    counts = ids[mask.to_numpy()].value_counts(sort=False)
    for pid, n in zip(counts.index.tolist(), counts.to_numpy().tolist()):
        into[pid] = into.get(pid, 0) + n


def _reconcile_orders(conn, wid: int, keys: list, last_id: int, cols: list) -> tuple[int, int, int, int]:
    """After an orders file's lines were inserted next to the stored ones (ids > ``last_id``): per order
    id in ``keys``, keep the stored lines when the file's lines are the same in ``cols`` (deleting the
    new copies), else delete the stored ones. Returns ``(added, changed, unchanged, stored lines replaced)``."""
    added = changed = same = replaced = 0
    for i in range(0, len(keys), _CHUNK):
        part = keys[i:i + _CHUNK]
        rows = conn.execute(select(OrderLine.id, *[getattr(OrderLine, c) for c in cols]).where(
            OrderLine.workspace_id == wid, OrderLine.order_id.in_(part))).all()
        frame = pd.DataFrame(rows, columns=["id", *cols])
        is_old = (frame["id"] <= last_id).to_numpy()
        old, new = frame[is_old], frame[~is_old]
        if old.empty:
            added += len(part)
            continue
        sig = _comparable(frame, cols)

        def signatures(rows_of):
            return sig[rows_of.index].groupby(rows_of[S.ORDER_ID].to_numpy()).agg(
                lambda s: tuple(sorted(s, key=repr)))

        old_sig, new_sig = signatures(old), signatures(new)
        unchanged = [k for k in old_sig.index if k in new_sig.index and old_sig[k] == new_sig[k]]
        stale = [k for k in old_sig.index if k in new_sig.index and k not in set(unchanged)]
        added += len(set(new_sig.index) - set(old_sig.index))
        changed += len(stale)
        same += len(unchanged)
        if unchanged:
            conn.execute(delete(OrderLine).where(OrderLine.workspace_id == wid, OrderLine.id > last_id,
                                                 OrderLine.order_id.in_(unchanged)))
        if stale:
            replaced += conn.execute(delete(OrderLine).where(OrderLine.workspace_id == wid, OrderLine.id <= last_id,
                                                             OrderLine.order_id.in_(stale))).rowcount
    return added, changed, same, replaced


def _unknown_products(conn, wid: int, counts: dict | None = None) -> pd.DataFrame:
    """Product ids of product lines (line_type missing, product or not_in_catalog) that the catalog lacks,
    with their number of lines, most lines first (ties by product_id).

    ``counts``: ``{product id: lines}`` already counted (a workspace's first orders import, counted while
    written, see :func:`_count_unknown`); otherwise the database counts them.
    """
    kept = (S.PRODUCT_LINE, "not_in_catalog")
    if counts is None:
        known = select(Product.product_id).where(Product.workspace_id == wid)
        is_product = or_(OrderLine.line_type.is_(None), OrderLine.line_type.in_(kept))
        rows = conn.execute(select(OrderLine.product_id, func.count()).where(
            OrderLine.workspace_id == wid, is_product, OrderLine.product_id.not_in(known))
            .group_by(OrderLine.product_id)).all()
    else:
        rows = list(counts.items())
    # sorted here, not in SQL: the same order on every database (PostgreSQL collations differ);
    # most lines first, ties by product_id (code point order, as Python compares str)
    out = pd.DataFrame(rows, columns=[S.PRODUCT_ID, "lines"])
    if len(out):
        out["lines"] = out["lines"].astype("int64")
        out = out.sort_values([S.PRODUCT_ID], kind="stable").sort_values("lines", ascending=False, kind="stable")
    return out.reset_index(drop=True)


def list_imports(engine: Engine, workspace: str) -> pd.DataFrame:
    """The import log of a workspace, newest first."""
    with engine.connect() as conn:
        wid = _workspace_id(conn, workspace)
        rows = conn.execute(select(ImportLog.created_at, ImportLog.kind, ImportLog.file_name, ImportLog.rows_read,
                                   ImportLog.rows_loaded, ImportLog.rows_rejected, ImportLog.added,
                                   ImportLog.changed, ImportLog.unchanged, ImportLog.encoding,
                                   ImportLog.delimiter, ImportLog.mapping, ImportLog.report, ImportLog.content_hash)
                            .where(ImportLog.workspace_id == wid).order_by(ImportLog.id.desc())).all()
    return pd.DataFrame(rows, columns=["time", "kind", "file", "rows_read", "rows_loaded", "rows_rejected", "added",
                                       "changed", "unchanged", "encoding", "delimiter", "mapping", "report",
                                       "content_hash"])


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
        if S.LINE_TYPE in self.orders:
            mask &= self.orders[S.LINE_TYPE].isin([S.PRODUCT_LINE, "not_in_catalog"])
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
        orders = _frame(conn, OrderLine, wid, (*S.ORDERS_COLUMNS, S.LINE_TYPE))
        reviews = _frame(conn, Review, wid, S.REVIEWS_COLUMNS)
        fp = _fingerprint(conn, workspace, wid)
    for frame, cols in ((catalog, (S.PRICE,)), (orders, (S.PRICE,)), (reviews, (S.RATING,))):
        for c in cols:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    for c in (S.ORDERED_AT,):
        orders[c] = pd.to_datetime(orders[c])
    orders[S.QUANTITY] = orders[S.QUANTITY].astype("int64")
    orders[S.LINE_TYPE] = orders[S.LINE_TYPE].fillna(S.PRODUCT_LINE).astype(object)
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


def save_preset(engine: Engine, workspace: str, kind: str, name: str, mapping: dict) -> None:
    """Save (or overwrite) a named column mapping ``{canonical: source header}`` for a workspace."""
    if kind not in S.KINDS:
        raise ValueError(f"kind must be one of {S.KINDS}, got {kind!r}")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("preset name must be a non-empty string")
    wid = ensure_workspace(engine, workspace)
    with engine.begin() as conn:
        conn.execute(delete(MappingPreset).where(MappingPreset.workspace_id == wid, MappingPreset.kind == kind,
                                                 MappingPreset.name == name.strip()))
        conn.execute(insert(MappingPreset).values(workspace_id=wid, kind=kind, name=name.strip(),
                                                  mapping=json.dumps(mapping, ensure_ascii=False)))


def list_presets(engine: Engine, workspace: str, kind: str | None = None) -> dict[str, dict]:
    """Saved presets of a workspace: ``{name: {"kind": kind, "mapping": {...}}}``, newest last."""
    with engine.connect() as conn:
        wid = conn.execute(select(Workspace.id).where(Workspace.name == workspace)).scalar()
        if wid is None:
            return {}
        sel = select(MappingPreset.name, MappingPreset.kind, MappingPreset.mapping).where(
            MappingPreset.workspace_id == wid).order_by(MappingPreset.id)
        if kind is not None:
            sel = sel.where(MappingPreset.kind == kind)
        return {n: {"kind": k, "mapping": json.loads(m)} for n, k, m in conn.execute(sel).all()}


def personal_data_salt(engine: Engine) -> str:
    """The database's secret salt for hashing e-mail addresses used as customer ids.

    Created once (32 random bytes, hex) and kept in ``app_settings``; ``CROSS_SELL_SALT`` overrides
    it (e.g. to keep hashes stable across databases). The salt never leaves the database.
    """
    import os
    import secrets

    env = os.environ.get("CROSS_SELL_SALT")
    if env:
        return env
    with engine.begin() as conn:
        salt = conn.execute(select(AppSetting.value).where(AppSetting.key == "email_salt")).scalar()
        if salt is None:
            salt = secrets.token_hex(32)
            conn.execute(insert(AppSetting).values(key="email_salt", value=salt))
    return salt


def catalog_titles(engine: Engine, workspace: str) -> pd.DataFrame:
    """product_id, title of a workspace's catalog (empty frame when the workspace has none)."""
    with engine.connect() as conn:
        wid = conn.execute(select(Workspace.id).where(Workspace.name == workspace)).scalar()
        rows = [] if wid is None else conn.execute(
            select(Product.product_id, Product.title).where(Product.workspace_id == wid)).all()
    return pd.DataFrame(rows, columns=[S.PRODUCT_ID, S.TITLE])
