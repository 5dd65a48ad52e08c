"""Read uploaded bytes into a frame of text cells, keeping each record's physical line number.

Every cell is read as text (``str`` or missing) so ids keep their leading zeros and numbers keep
their spelling ("5", never "5.0"); typing happens in :mod:`core.ingest.validate`.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
import math
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import SchemaError

DELIMITERS = ",;\t|"

#: Largest cell the CSV reader accepts. The standard library's default (131,072 characters) refuses
#: whole files with one long HTML description; 64 MiB still stops a runaway cell from eating memory.
FIELD_SIZE_LIMIT = 64 * 1024 * 1024
csv.field_size_limit(FIELD_SIZE_LIMIT)

# one well-formed UTF-8 multi-byte sequence (RFC 3629, no overlongs or surrogates)
_UTF8_MULTIBYTE = re.compile(
    rb"[\xC2-\xDF][\x80-\xBF]|\xE0[\xA0-\xBF][\x80-\xBF]|[\xE1-\xEC\xEE\xEF][\x80-\xBF]{2}"
    rb"|\xED[\x80-\x9F][\x80-\xBF]|\xF0[\x90-\xBF][\x80-\xBF]{2}|[\xF1-\xF3][\x80-\xBF]{3}"
    rb"|\xF4[\x80-\x8F][\x80-\xBF]{2}")


@dataclass(frozen=True)
class ReadResult:
    """A parsed file.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per record, columns as written in the header (stripped), cells ``str`` or missing.
    line_numbers : numpy.ndarray
        ``(len(frame),)`` physical line where each record starts (header = line 1).
    encoding, delimiter : str
        What was detected (``delimiter`` is ``""`` for spreadsheets and Parquet).
    malformed : list of tuple(int, str)
        ``(line, reason)`` for records that could not be split into the header's fields.
    """

    frame: pd.DataFrame
    line_numbers: "object"
    encoding: str
    delimiter: str
    malformed: list = field(default_factory=list)


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode strictly, in this order: UTF-8 (BOM or not), UTF-16 with BOM, then GB18030 or cp1252 by
    evidence; never a silent U+FFFD.

    After UTF-8 fails, Chinese GB18030 is chosen only when :func:`_looks_gb18030` finds the byte
    pattern of Chinese text (see there); otherwise Windows-1252 is tried, and only when the bytes
    hold no valid UTF-8 multi-byte sequence at all. A file that is UTF-8 except for a few invalid
    bytes (a cp1252 paste into a UTF-8 export) is refused, naming the first bad line: decoding all of
    it as cp1252 would silently store 'CafÃ©'.
    """
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:  # pragma: no cover - malformed UTF-16
            raise SchemaError(f"starts with a UTF-16 byte-order mark but is not valid UTF-16 ({exc.reason})",
                              file=name) from exc
    try:
        text = data.decode("utf-8-sig")
        return text.lstrip("\ufeff"), ("utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8")
    except UnicodeDecodeError as exc:
        gb = _looks_gb18030(data)
        if gb is not None:
            return gb, "gb18030"
        if _UTF8_MULTIBYTE.search(data):
            bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
            pos = exc.start + bom  # utf-8-sig reports positions after the BOM
            line = data[:pos].count(b"\n") + 1
            raise SchemaError(f"is UTF-8 text with an invalid byte 0x{data[pos]:02X} on this line (text from "
                              f"another encoding pasted in?); fix that line or save the whole file as UTF-8 "
                              f"and upload again", file=name, row=line) from exc
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SchemaError("is neither UTF-8 nor Windows-1252 text (nor Chinese GB18030); save it as UTF-8 CSV "
                          "and upload again", file=name, row=line) from exc


# bytes >= 0x80 and runs of two or more of them
_HIGH = re.compile(rb"[\x80-\xFF]")
_HIGH_RUN = re.compile(rb"[\x80-\xFF]{2,}")
# one GB2312 Chinese character (lead 0xB0-0xF7, trail 0xA1-0xFE): the bulk of any GB-encoded Chinese text
_GB2312_HANZI = re.compile(rb"[\xB0-\xF7][\xA1-\xFE]")
# CJK ideographs, CJK symbols and punctuation, full-width forms
_CJK = re.compile(r"[\u3000-\u303F\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]")


def _looks_gb18030(data: bytes) -> str | None:
    """The text, when the bytes (already known not to be UTF-8) are Chinese GB18030; else None.

    Evidence required, all of it (Western cp1252 text fails at least one):

    * no UTF-8 byte-order mark, and strict GB18030 decoding succeeds;
    * the non-ASCII bytes come in runs (>= 80% of them sit next to another non-ASCII byte): every
      GB2312 character is two bytes >= 0xA1, whereas accented Latin letters in cp1252 ('café',
      'Größe') are single bytes between ASCII letters;
    * at least 2 two-byte characters from the GB2312 hanzi block;
    * >= 90% of the decoded non-ASCII characters are CJK ideographs, CJK punctuation or full-width forms;
    * fewer than two thirds of the non-ASCII bytes form valid UTF-8 sequences (otherwise it is UTF-8
      with stray bytes, which :func:`_decode` refuses naming the line). Chinese GB text holds such
      sequences only by accident (``\\xce\\xa2``, 微), about a quarter of its non-ASCII bytes.
    """
    if data.startswith(codecs.BOM_UTF8):
        return None
    high = len(_HIGH.findall(data))
    if not high or sum(len(m) for m in _HIGH_RUN.findall(data)) < 0.8 * high:
        return None
    if len(_GB2312_HANZI.findall(data)) < 2:
        return None
    if 3 * sum(len(m) for m in _UTF8_MULTIBYTE.findall(data)) >= 2 * high:
        return None
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    non_ascii = sum(1 for c in text if ord(c) > 127)
    if len(_CJK.findall(text)) < 0.9 * non_ascii:
        return None
    return text


def _sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    first = sample.splitlines()[0] if sample else ""
    if first.lower().startswith("sep=") and len(first) == 5:
        return first[4]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


# Corrupt bytes make the third-party readers (gzip/zlib, zipfile, openpyxl, pyarrow) raise a long and
# undocumented list of exception types (BadGzipFile, EOFError, zlib.error, BadZipFile, KeyError,
# ArrowInvalid, OSError, ...). Each reader below is wrapped in ``except Exception`` and the failure
# becomes a SchemaError naming the file; our own SchemaErrors pass through unchanged.

def _unwrap(data: bytes, name: str) -> tuple[bytes, str]:
    lower = name.lower()
    if lower.endswith(".gz"):
        try:
            return gzip.decompress(data), name[:-3]
        except Exception as exc:
            raise SchemaError(f"is not a valid gzip file: {_why(exc)}", file=name) from exc
    if lower.endswith(".zip"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                members = [m for m in zf.namelist() if not m.endswith("/") and not m.startswith("__MACOSX")]
                if len(members) != 1:
                    raise SchemaError(f"a .zip upload must hold exactly one file, found {len(members)}",
                                      file=name)
                return zf.read(members[0]), members[0]
        except SchemaError:
            raise
        except Exception as exc:
            raise SchemaError(f"is not a valid zip file: {_why(exc)}", file=name) from exc
    return data, name


def _why(exc: BaseException) -> str:
    """A one-line reason from a reader's exception (its type when it has no message)."""
    text = " ".join(str(exc).split())
    return (text[:200] + "...") if len(text) > 200 else (text or type(exc).__name__)


def _cell_text(v) -> str | None:
    """A spreadsheet/Parquet cell as text: missing -> None, integral floats without '.0' (7.0 -> '7').

    Numeric id columns with blanks arrive as floats; '7.0' would never match the '7' in the orders file.
    """
    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, (float, np.floating)):
        if isinstance(v, np.floating) and not isinstance(v, float):  # float32: '0.1', not '0.10000000149'
            v = float(str(v))
        if math.isnan(v):
            return None
        return str(int(v)) if v.is_integer() else str(float(v))
    return str(v)


def _text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell through :func:`_cell_text`, object dtype (missing stays None, never NaN).

    Float columns are read as numpy scalars so float32 keeps its short spelling (0.1, not 0.100000001).
    """
    cols = {}
    for i, (_, col) in enumerate(frame.items()):
        values = col.to_numpy() if col.dtype.kind == "f" else col.astype(object).to_numpy()
        cols[i] = pd.Series([_cell_text(v) for v in values], index=frame.index, dtype=object)
    out = pd.DataFrame(cols, index=frame.index)
    out.columns = frame.columns
    return out


def read_table(data: bytes, name: str) -> ReadResult:
    """Parse CSV/TSV (delimiter sniffed), XLSX or Parquet bytes, optionally .gz/.zip compressed.

    The whole file as one :class:`ReadResult`: :func:`read_chunks` with one chunk.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        The file name as the user gave it; used to pick the format and in every message.

    Returns
    -------
    ReadResult

    Raises
    ------
    SchemaError
        Unreadable bytes, no header, duplicated header names, or an empty header cell.
    """
    return read_chunks(data, name, chunk_rows=None).whole()


#: Records per chunk of :func:`read_chunks` (a chunk of 200,000 order lines is ~100 MiB of text cells).
DEFAULT_CHUNK_ROWS = 200_000


class Rescan(Exception):
    """Raised by :class:`ChunkedTable` iteration when the fast reader turned out not to fit the file
    (pandas and the physical line count disagree); the table has switched to the stdlib reader and
    must be iterated again from the start. Never raised once a complete iteration of all columns
    has succeeded."""


class ChunkedTable:
    """A parsed file, iterated in chunks of at most ``chunk_rows`` records (as often as needed).

    Each chunk is a :class:`ReadResult` whose ``line_numbers`` and ``malformed`` give true physical
    lines of the whole file; concatenated, the chunks are exactly what one whole-file chunk holds
    (same records, same malformed-record reports, same order). CSV/TSV (also in .gz/.zip) is parsed
    chunk by chunk, so the text cells of one chunk are alive at a time; XLSX and Parquet are read
    whole and come as one chunk (``streams`` is False).

    Attributes
    ----------
    name, encoding, delimiter : str
    columns : list of str
        The cleaned header.
    chunk_rows : int or None
        None: one chunk.
    streams : bool
    """

    def __init__(self, name, encoding, delimiter, columns, chunk_rows, whole=None):
        self.name, self.encoding, self.delimiter, self.columns = name, encoding, delimiter, list(columns)
        self.chunk_rows = chunk_rows
        self._whole = whole
        self.streams = whole is None

    def __iter__(self):
        return self.chunks()

    def chunks(self, columns=None):
        """The chunks, in file order. ``columns``: the only columns a caller needs (a hint: a streamed
        CSV then builds only those cells; other formats give every column)."""
        yield self._whole

    def whole(self) -> ReadResult:
        """All records as one ReadResult (iterates once more if the fast reader had to give way)."""
        while True:
            try:
                parts = list(self)
                break
            except Rescan:
                continue
        if len(parts) == 1:
            return parts[0]
        frame = pd.concat([p.frame for p in parts], ignore_index=True)
        return ReadResult(frame, np.concatenate([p.line_numbers for p in parts]), self.encoding, self.delimiter,
                          [m for p in parts for m in p.malformed])


def read_chunks(data: bytes, name: str, chunk_rows: int | None = DEFAULT_CHUNK_ROWS) -> ChunkedTable:
    """Open CSV/TSV, XLSX or Parquet bytes (optionally .gz/.zip) for reading in chunks of records.

    Encoding and delimiter are decided from the whole file, as :func:`read_table` does; the header
    is checked here (so a bad header is refused before any record is read). Records are parsed
    while the table is iterated.

    Parameters
    ----------
    data : bytes
    name : str
        The file name as the user gave it.
    chunk_rows : int >= 1 or None, default :data:`DEFAULT_CHUNK_ROWS`
        Records per chunk; None: the whole file in one chunk.

    Returns
    -------
    ChunkedTable

    Raises
    ------
    TypeError
        ``data`` is not bytes or ``chunk_rows`` is not an int.
    ValueError
        ``chunk_rows`` < 1.
    SchemaError
        As :func:`read_table` (a record that breaks the CSV reader raises while iterating).
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    if chunk_rows is not None:
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)):
            raise TypeError(f"chunk_rows must be an int or None, got {type(chunk_rows).__name__}")
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    data, inner = _unwrap(bytes(data), name)
    lower = inner.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        try:
            frame = pd.read_excel(io.BytesIO(data), dtype=object, engine="openpyxl")
        except Exception as exc:
            raise SchemaError(f"is not a valid Excel .xlsx file: {_why(exc)}", file=name) from exc
        frame = _text_frame(frame)
        whole = _finish(frame, list(range(2, len(frame) + 2)), "xlsx", "", [], name)
        return ChunkedTable(name, "xlsx", "", whole.frame.columns, chunk_rows, whole)
    if lower.endswith(".parquet"):
        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:
            raise SchemaError(f"is not a valid Parquet file: {_why(exc)}", file=name) from exc
        frame = _text_frame(frame)
        whole = _finish(frame, list(range(2, len(frame) + 2)), "parquet", "", [], name)
        return ChunkedTable(name, "parquet", "", whole.frame.columns, chunk_rows, whole)

    text, encoding = _decode(data, name)
    if not text or text.isspace():  # (not text.strip(): that copies the whole text)
        raise SchemaError("is empty: expected a header row and data rows", file=name)
    delimiter = _sniff_delimiter(text)
    # plain UTF-8 (no BOM): the bytes are the UTF-8 text already
    return _CsvTable(text, name, encoding, delimiter, chunk_rows, raw=data if encoding == "utf-8" else None)


class _CsvTable(ChunkedTable):
    """CSV/TSV records, by pandas' C reader when the file provably reads the same that way
    (:func:`_simple_layout`), by the stdlib reader otherwise (lenient quotes, malformed records)."""

    def __init__(self, text: str, name: str, encoding: str, delimiter: str, chunk_rows, raw: bytes | None = None):
        self.first_line = 2 if text[:4].lower() == "sep=" else 1
        layout = _simple_layout(text, delimiter) if self.first_line == 1 else None
        self._text = text
        self._utf8 = None
        if layout is not None:
            self._n_lines, width = layout
            header_end = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=len(text))
            header = next(csv.reader([text[:header_end]], delimiter=delimiter), [])
            # UTF-8 bytes for pandas, not io.StringIO: that holds 4 bytes per character; the text
            # itself is dropped (decoded again only if the stdlib reader has to take over)
            self._utf8 = raw if raw is not None and encoding == "utf-8" else text.encode("utf-8")
            self._text = None
        else:
            header = self._header(text, delimiter, name)
        columns = _columns(header, name)
        super().__init__(name, encoding, delimiter, columns, chunk_rows)
        self._width = len(header)
        self._shapes = None  # first-cell shapes of the single-line records (the stdlib path computes them)

    @staticmethod
    def _header(text, delimiter, name):
        lines = io.StringIO(text, newline="")
        if text[:4].lower() == "sep=":
            lines.readline()
        try:
            return next(csv.reader(lines, delimiter=delimiter))
        except StopIteration:  # pragma: no cover - guarded by the emptiness check
            raise SchemaError("has no header row", file=name) from None
        except csv.Error as exc:
            raise SchemaError(f"cannot be parsed as CSV ({exc})", file=name, row=1) from exc

    def chunks(self, columns=None):
        if self._utf8 is not None:
            yield from self._simple_chunks(columns)
        else:
            yield from self._stdlib_chunks()

    def _chunk(self, frame, starts, malformed, columns=None) -> ReadResult:
        frame.columns = self.columns if columns is None else columns
        return ReadResult(frame.reset_index(drop=True), np.asarray(starts, dtype=np.int64),
                          self.encoding, self.delimiter, malformed)

    def _give_way(self):
        if self._text is None:
            self._text = self._utf8.decode("utf-8")
        self._utf8 = None
        self._shapes = None
        raise Rescan(f"{self.name}: the fast CSV reader does not fit this file; read again with the stdlib reader")

    def _simple_chunks(self, columns=None):
        expected = self._n_lines - 1  # records after the header
        use = None if columns is None else sorted({self.columns.index(c) for c in columns})
        names = None if use is None else [self.columns[i] for i in use]
        width = self._width if use is None else len(use)
        if expected == 0:
            yield self._chunk(pd.DataFrame(columns=range(width), dtype=object), [], [], names)
            return
        try:
            reader = pd.read_csv(io.BytesIO(self._utf8), encoding="utf-8", sep=self.delimiter, header=None,
                                 skiprows=1, dtype=object, na_filter=False, keep_default_na=False,
                                 skip_blank_lines=False, engine="c", quotechar='"', doublequote=True,
                                 escapechar=None, comment=None, skipinitialspace=False, usecols=use,
                                 chunksize=self.chunk_rows or expected)
        except Exception:  # the checks passed but pandas disagrees: let the stdlib reader decide
            self._give_way()
        seen = 0
        while True:
            try:
                raw = next(reader)
            except StopIteration:
                break
            except Exception:
                self._give_way()
            if raw.shape[1] != width:
                self._give_way()
            starts = np.arange(seen + 2, seen + 2 + len(raw))
            seen += len(raw)
            if seen > expected:
                self._give_way()
            yield self._chunk(raw, starts, [], names)
        if seen != expected:  # pandas found more or fewer records than physical lines
            self._give_way()

    def _records(self):
        """(start line, end line, fields, physical lines) of every record after the header, blank ones
        included (``fields`` is [] or one blank cell for them)."""
        consumed: list[str] = []

        def physical():
            for line in io.StringIO(self._text, newline=""):
                consumed.append(line)
                yield line

        lines = physical()
        if self.first_line == 2:
            next(lines)
        reader = csv.reader(lines, delimiter=self.delimiter)
        next(reader)  # the header (checked in __init__)
        offset = self.first_line - 1
        prev = reader.line_num + offset
        consumed.clear()
        while True:
            try:
                rec = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise SchemaError(f"cannot be parsed as CSV ({exc})", file=self.name, row=prev + 1) from exc
            start, prev = prev + 1, reader.line_num + offset
            raw = consumed[:]
            consumed.clear()
            yield start, prev, rec, raw

    def _blank(self, rec) -> bool:
        return not rec or (len(rec) == 1 and not rec[0].strip() and self._width > 1)

    def _first_cell_shapes(self) -> set:
        """Shapes of the first cells of the single-line records of the right width (empty when the
        first column is free text: more than 50 shapes); used to spot records merged by an unclosed quote."""
        shapes: set = set()
        for start, end, rec, _ in self._records():
            if end == start and not self._blank(rec) and len(rec) == self._width and rec[0].strip():
                shapes.add(_shape(rec[0].strip()))
                if len(shapes) > 50:  # first column is free text, not an id: the shape test means nothing
                    return set()
        return {sh for sh in shapes if sh != "A" and not re.search(r"\s", sh)}  # a bare word is no record start

    def _stdlib_chunks(self):
        width, limit = self._width, self.chunk_rows
        rows, starts, malformed = [], [], []
        pending = None  # the last non-blank record so far: (start, end, rec, lines); the tail follows it
        tail: list[str] = []
        yielded = False

        def take(start, end, rec, lines):
            if len(rec) != width:
                malformed.append((start, f"expected {width} fields, found {len(rec)}"))
                return
            if end > start:
                if self._shapes is None:
                    self._shapes = self._first_cell_shapes()
                why = _swallowed(lines, start, width, self.delimiter, self._shapes)
                if why:
                    malformed.append((start, f"possible unclosed quote starting on line {start}: the quoted field "
                                             f"runs on to line {end} and swallows what look like whole records "
                                             f"({why})"))
                    return
            rows.append(rec)
            starts.append(start)

        for start, end, rec, lines in self._records():
            if self._blank(rec):
                tail += lines
                continue
            if pending is not None:
                take(*pending)
                if limit is not None and len(rows) >= limit:
                    yield self._frame(rows, starts, malformed)
                    yielded = True
                    rows, starts, malformed = [], [], []
            pending = (start, end, rec, lines)
            tail = list(lines)
        if pending is not None:
            start, end, rec, lines = pending
            if _unterminated(tail, rec, self.delimiter):
                # a quote opened in the last record never closes: the lenient reader put the rest of the
                # file into one cell. Report the record where it starts instead of storing swallowed text.
                malformed.append((start, "a quoted field opened on this line is never closed (everything after "
                                         "it would have become one cell)"))
            else:
                take(*pending)
        if rows or malformed or not yielded:
            yield self._frame(rows, starts, malformed)

    def _frame(self, rows, starts, malformed) -> ReadResult:
        width = self._width
        frame = pd.DataFrame(rows, columns=range(width), dtype=object) if rows else pd.DataFrame(
            columns=range(width), dtype=object)
        return self._chunk(frame, starts, malformed)


def _physical_lines(text: str) -> int:
    """Lines as the CSV reader counts them: ``\\r\\n``, ``\\r`` and ``\\n`` end a line; a last line
    without one counts too."""
    n = text.count("\n") + text.count("\r") - text.count("\r\n")
    return n + (1 if text and text[-1] not in "\r\n" else 0)


def _simple_layout(text: str, delimiter: str) -> tuple[int, int] | None:
    """``(physical lines, header width)`` when the file has one record per physical line and pandas'
    C reader may parse it; None otherwise.

    The stdlib reader costs seconds per million records; pandas' C parser does the same split in a
    fraction of it and shares the string objects of repeated cells. It is used only when the file is
    proven to read the same both ways, checked on the whole text:

    * no NUL character and no blank line (two line ends in a row, or one at the very start);
    * every ``"`` belongs to a well-formed quoted field: one that starts a field, doubles its inner
      quotes, holds no line break and is followed by the delimiter or a line end (what RFC 4180
      writers produce; stray or unclosed quotes, which the stdlib reader treats leniently, go to the
      slow path with its malformed-record reports);
    * every line has the header's number of fields: pandas refuses a longer line, and the
      delimiters outside quoted fields number exactly ``lines * (width - 1)``;
    * (checked while reading, :class:`Rescan` otherwise) pandas returns one row per physical line.
    """
    cr = "\r" in text  # each scan of a large text costs ~0.1 s: skip the ones that cannot matter
    if (not text or "\0" in text or text[0] in "\r\n" or "\n\n" in text
            or (cr and ("\r\r" in text or "\n\r" in text))):
        return None
    outside = text.count(delimiter)
    quotes = text.count('"')
    if quotes:
        for m in _quoted_field(delimiter).finditer(text):
            cell = m.group()
            if "\n" in cell or "\r" in cell:
                return None
            quotes -= cell.count('"')
            outside -= cell.count(delimiter)
        if quotes:
            return None
    n_lines = _physical_lines(text) if cr else text.count("\n") + (text[-1] != "\n")
    header_end = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=len(text))
    width = len(next(csv.reader([text[:header_end]], delimiter=delimiter), []))
    if width < 1 or outside != n_lines * (width - 1):
        return None
    return n_lines, width


_QUOTED: dict[str, re.Pattern] = {}


def _quoted_field(delimiter: str) -> re.Pattern:
    """A well-formed quoted field: starts a field, doubled inner quotes, ends before a delimiter or line end."""
    if delimiter not in _QUOTED:
        d = re.escape(delimiter)
        _QUOTED[delimiter] = re.compile(rf'"(?<![^{d}\r\n]")[^"]*(?:""[^"]*)*"(?![^{d}\r\n])')
    return _QUOTED[delimiter]


def _unterminated(tail: list, rec: list, delimiter: str) -> bool:
    """Whether the last record ends inside a quoted field (only possible when a field holds a line break).

    ``tail``: the physical lines from the record's first line to the end of the file.
    """
    if not any("\n" in f or "\r" in f for f in rec):
        return False
    try:
        for _ in csv.reader(io.StringIO("".join(tail), newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _shape(value: str) -> str:
    """Character-class outline of a cell: letters -> 'A', digits -> '9', runs collapsed ('WC-701' -> 'A-9')."""
    return re.sub(r"([A9])\1+", r"\1", re.sub(r"[^\W\d_]", "A", re.sub(r"\d", "9", value)))


def _swallowed(segment: list, start: int, width: int, delimiter: str, shapes: set) -> str | None:
    """Why a multi-line record is probably several records merged by a quote that was never closed; None
    when it reads as one legitimate record.

    Legitimate multi-line cells (HTML descriptions) are common, so a record spanning lines is flagged
    only when its raw text (``segment``, its physical lines; it starts on line ``start``) shows the merge:

    * re-read with ``strict=True`` it fails: a closing quote is followed by something other than the
      delimiter or a line end (``A2,"Two`` ... ``A4,"Four"``), which valid RFC 4180 quoting never does;
    * or one of its continuation lines, read on its own, has exactly the header's field count and starts
      with a cell shaped like the first cell of the single-line records (``A3,Three`` among ``A1``, ``A5``;
      ``shapes`` from the whole file, see ``_CsvTable._first_cell_shapes``).
    """
    try:
        parsed = list(csv.reader(io.StringIO("".join(segment), newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        return "a closing quote is followed by more text"
    if len(parsed) != 1:  # pragma: no cover - the lenient reader saw one record here
        return f"it reads as {len(parsed)} records"
    for offset, line in enumerate(segment[1:], start=start + 1):
        alone = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])
        if width > 1 and len(alone) == width and alone[0].strip() and _shape(alone[0].strip()) in shapes:
            return f"line {offset} reads as a record of its own"
    return None


def _columns(header, name: str) -> list[str]:
    """The header cells cleaned (BOM, blanks, quotes stripped) and checked.

    Raises SchemaError for an empty or pandas-made 'Unnamed:' name or a name used twice (case-insensitive).
    """
    cols = [str(c).replace("\ufeff", "").strip().strip('"').strip() for c in header]
    if cols and cols[0] == "" and len(cols) > 1:
        # a leading unnamed column is a row index written by pandas/R (e.g. the clothing-reviews
        # export): name it so it can be left unmapped instead of refusing the whole file
        cols[0] = "row_index"
    if any(c == "" or c.lower().startswith("unnamed:") for c in cols):
        empty = [i + 1 for i, c in enumerate(cols) if c == "" or c.lower().startswith("unnamed:")]
        raise SchemaError(f"header has an empty column name at position(s) {empty}", file=name, row=1)
    lowered = [c.lower() for c in cols]
    dups = sorted({c for c in cols if lowered.count(c.lower()) > 1})
    if dups:
        raise SchemaError(f"duplicated column name(s) in the header: {', '.join(dups)}", file=name, row=1)
    return cols


def _finish(frame, starts, encoding, delimiter, malformed, name) -> ReadResult:
    frame.columns = _columns(frame.columns, name)
    frame = frame.astype(object)
    return ReadResult(frame.reset_index(drop=True), np.asarray(starts, dtype=np.int64), encoding, delimiter,
                      malformed)


def read_preview(data: bytes, name: str, rows: int = 1000) -> tuple[ReadResult, bool]:
    """The first ``rows`` records of a file, for column mapping and a preview, without parsing the rest.

    Encoding, delimiter and header are decided as :func:`read_table` decides them (from the whole file), so
    a file refused by the import is refused here too; only the records stop early.

    Returns
    -------
    (ReadResult of at most ``rows`` records, complete: True when the file holds no more records)

    Raises
    ------
    SchemaError as :func:`read_chunks`; ValueError for ``rows`` < 1.
    """
    table = read_chunks(data, name, chunk_rows=rows)
    while True:
        try:
            it = iter(table)
            first = next(it, None)
            if first is None:
                return table.whole(), True
            more = next(it, None) is not None
            return first, not more
        except Rescan:
            continue
