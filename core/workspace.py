"""Import files into a workspace and read it back: the one path the app, the CLI and the demo share."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from core import schema as S
from core.ingest import ReadResult, load_table, read_table
from core.ingest.clean import LINE_CLASSES, CleaningSettings, CleaningTally
from core.ingest.read import DEFAULT_CHUNK_ROWS, Rescan, read_chunks
from core.ingest.validate import TableValidator, ValidationResult
from core.errors import SchemaError
from core.ingest.presets import _EMAIL, apply_preset, hash_email
from core.store import ImportOutcome, load_workspace
from core.store.repo import import_stream
from core.store.repo import catalog_titles, personal_data_salt
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
    #: orders only: line counts per cleaning class and more (core.ingest.clean.cleaning_report)
    cleaning: dict | None = None

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


def _hash_emails(frame: pd.DataFrame, salt: str) -> pd.DataFrame:
    """Customer ids that are e-mail addresses are stored only as a salted hash."""
    if S.CUSTOMER_ID not in frame or not len(frame):
        return frame
    ids = frame[S.CUSTOMER_ID]
    codes, uniques = pd.factorize(ids.to_numpy(dtype=object), use_na_sentinel=True)  # checked once per id
    has_at = np.array([*("@" in str(v) for v in uniques), False], dtype=bool)
    looks = pd.Series(has_at[codes], index=ids.index)
    if not looks.any():
        return frame
    out = frame.copy()
    out.loc[looks, S.CUSTOMER_ID] = [hash_email(v, salt) if _EMAIL.match(str(v).strip()) else v
                                     for v in ids[looks]]
    return out


def _apply_builtin(read: ReadResult, preset: str, salt: str) -> ReadResult:
    out = apply_preset(read.frame, preset, salt)
    lines = read.line_numbers[out.index.to_numpy()]
    return replace(read, frame=out.reset_index(drop=True), line_numbers=lines)


def import_files(engine: Engine, workspace: str, files: dict, mappings: dict | None = None,
                 reads: dict | None = None, presets: dict | None = None,
                 cleaning: CleaningSettings | None = None, options: dict | None = None, *,
                 chunk_rows: int | None = DEFAULT_CHUNK_ROWS) -> list[FileReport]:
    """Validate, clean and import files, catalog first (order lines are classified against it).

    CSV/TSV files (also in .gz/.zip) stream: ``chunk_rows`` records at a time are parsed, validated,
    cleaned and written, all inside one database transaction (:func:`core.store.repo.import_stream`).
    Each numeric column's decimal separator and each date column's day/month order are decided from
    all values of the file: from the first chunk, checked against the whole file's evidence after
    the last one; when the file decides otherwise the transaction is rolled back and the file is
    imported again after a first pass that reads only those columns. Reports, counts and stored rows
    are the same as with the whole file in one chunk; memory beyond the file's bytes is bounded by
    the chunk (plus the distinct order ids and product ids). XLSX and Parquet files, files given in ``reads`` and files with a built-in
    preset (which groups rows across the file, e.g. Shopify variants) are handled whole.

    Parameters
    ----------
    files : dict
        ``{kind: (file name, bytes)}`` with kind in ``core.schema.KINDS``.
    mappings : dict, optional
        ``{kind: {canonical: source column}}``; fields left out are suggested from the headers.
    reads : dict, optional
        ``{kind: ReadResult}`` already parsed from the same bytes (the Data page parses once for
        its preview); parsed here otherwise.
    presets : dict, optional
        ``{kind: name of a built-in preset}`` (core.ingest.presets.BUILTIN_PRESETS), applied to
        the raw file before validation (e.g. Shopify variant rows -> one product).
    cleaning : CleaningSettings, optional
        Rules that keep cancellations, returns, fees... out of baskets (they are stored with
        their ``line_type``, never dropped). Defaults to ``CleaningSettings()``.
    options : dict, optional
        ``{kind: {"decimal": "," | ".", "dayfirst": bool}}``: the user's answer where a file's number
        or date format is ambiguous (see ``core.ingest.validate.validate_table``).
    chunk_rows : int >= 1 or None, default 200,000
        Records per chunk of a streamed file; None: the whole file in one chunk.

    Returns
    -------
    list of FileReport, in import order. For a streamed file ``validation.valid`` is empty (the
    rows are in the database) and ``validation.rows_loaded`` counts them; a file handled whole
    keeps its valid rows there.

    Raises
    ------
    ValueError
        An unknown kind, or ``chunk_rows`` < 1.
    SchemaError / MappingError
        A file is refused as a whole (nothing of it is written; files imported before it stay).
    """
    unknown = set(files) - set(S.KINDS)
    if unknown:
        raise ValueError(f"file kinds must be among {S.KINDS}, got {sorted(unknown)}")
    salt = personal_data_salt(engine)
    # one settings object for every chunk: it remembers which product texts are non-products
    cleaning = CleaningSettings() if cleaning is None else cleaning
    reports = []
    for kind in S.KINDS:
        if kind not in files or files[kind] is None:
            continue
        name, data = files[kind]
        preset = (presets or {}).get(kind)
        given = (reads or {}).get(kind)
        if given is not None or preset:
            read = given or read_table(data, name)
            if preset:
                read = _apply_builtin(read, preset, salt)
            table = _Whole(read)
        else:
            table = read_chunks(data, name, chunk_rows)
        opts = {k: v for k, v in (options or {}).get(kind, {}).items() if v is not None}
        mapping = None if preset else (mappings or {}).get(kind)
        catalog = None
        if kind == S.ORDERS:
            catalog = catalog_titles(engine, workspace)
            catalog = catalog if len(catalog) else None
        digest = content_hash(data)
        one_pass = True
        while True:
            try:
                result, outcome, counts = _import_table(engine, workspace, kind, name, table, digest, mapping, opts,
                                                        preset, salt, catalog, cleaning, one_pass)
                break
            except Rescan:  # the fast CSV reader gave way to the stdlib one (nothing was written): again
                continue
            except _TwoPasses:  # the first chunk's formats were not the file's (nothing was written)
                one_pass = False
        reports.append(FileReport(result, outcome, counts))
        del table
    return reports


_LINE_TYPES = np.asarray(LINE_CLASSES, dtype=object)


class _TwoPasses(Exception):
    """The formats decided from the first chunk were not those of the whole file: import again with a
    pass 1 over the whole file first."""


def _import_table(engine, workspace, kind, name, table, digest, mapping, opts, preset, salt, catalog, cleaning,
                  one_pass=True):
    """Read, validate, clean and write one file (see :func:`import_files`): ``(result, outcome, counts)``.

    The number and date formats are the whole file's. With ``one_pass`` (and a file that streams)
    they are first decided from the first chunk and checked against the whole file's evidence after
    the last one, which pass 2 gathers as it goes: when they agree (the usual case) the file was
    read once; when they differ :class:`_TwoPasses` is raised inside the write transaction (nothing
    is written) and the caller imports again with a separate pass 1 that reads only the numeric and
    date columns of every chunk first.

    Raises :class:`core.ingest.read.Rescan` (before or during the write transaction, which then
    leaves nothing) when the fast CSV reader had to give way; the caller starts again.
    """
    validator = TableValidator(table.columns, kind, name, mapping, **opts)
    needed = validator.scan_columns
    one_pass = one_pass and table.streams and bool(needed)
    if needed and not one_pass:
        # pass 1: the decisions that need every value of the file (decimal separators, date orders)
        for chunk in table.chunks(needed):
            validator.scan(chunk)
    if not one_pass:
        validator.decide()
    assumed = []
    tally = CleaningTally()
    keep = [] if not table.streams else None  # a file handled whole keeps its valid rows for the report
    done = {}

    def chunks():
        # pass 2, consumed by import_stream inside its transaction
        for chunk in table.chunks():
            if one_pass:
                validator.scan(chunk)
                if not assumed:
                    try:
                        validator.decide(provisional=True)
                    except SchemaError:  # undecidable dates: the message needs every row of the file
                        raise _TwoPasses() from None
                    assumed.append(validator.parsing)
            valid = _hash_emails(validator.validate(chunk), salt)
            if kind == S.ORDERS:
                classes = tally.classify(valid, catalog, cleaning)
                valid = valid.assign(**{S.LINE_TYPE: _LINE_TYPES[classes.cat.codes.to_numpy()]})
            if keep is not None:
                keep.append(valid)
            yield valid

    def finish():
        if one_pass:
            if not assumed:  # no chunk at all
                validator.decide(provisional=True)
                assumed.append(validator.parsing)
            validator.decide()  # the whole file's evidence (raises SchemaError as a pass 1 would)
            if validator.parsing != assumed[0]:
                raise _TwoPasses()
        valid = None if keep is None else (keep[0] if len(keep) == 1 else pd.concat(keep, ignore_index=True))
        result = validator.result(valid, table.encoding, table.delimiter)
        counts = tally.report() if kind == S.ORDERS else None
        report = {"warnings": list(result.warnings), "cleaning": counts, "preset": preset,
                  "number_format": result.number_format, "date_format": result.date_format}
        done.update(result=result, counts=counts)
        return result, report

    outcome = import_stream(engine, workspace, kind, digest, chunks(), finish)
    return done["result"], outcome, done["counts"]


class _Whole:
    """One ReadResult as a one-chunk table (a file handled whole: given parsed, or with a preset)."""

    streams = False

    def __init__(self, read: ReadResult):
        self.read = read
        self.columns = list(read.frame.columns)
        self.encoding, self.delimiter = read.encoding, read.delimiter

    def chunks(self, columns=None):
        yield self.read

    __iter__ = chunks


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
