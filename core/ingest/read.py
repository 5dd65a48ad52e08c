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
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data, inner = _unwrap(bytes(data), name)
    lower = inner.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        try:
            frame = pd.read_excel(io.BytesIO(data), dtype=object, engine="openpyxl")
        except Exception as exc:
            raise SchemaError(f"is not a valid Excel .xlsx file: {_why(exc)}", file=name) from exc
        frame = _text_frame(frame)
        return _finish(frame, list(range(2, len(frame) + 2)), "xlsx", "", [], name)
    if lower.endswith(".parquet"):
        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:
            raise SchemaError(f"is not a valid Parquet file: {_why(exc)}", file=name) from exc
        frame = _text_frame(frame)
        return _finish(frame, list(range(2, len(frame) + 2)), "parquet", "", [], name)

    text, encoding = _decode(data, name)
    if not text or text.isspace():  # (not text.strip(): that copies the whole text)
        raise SchemaError("is empty: expected a header row and data rows", file=name)
    delimiter = _sniff_delimiter(text)
    first_line = 2 if text[:4].lower() == "sep=" else 1
    fast = _read_simple(text, delimiter) if first_line == 1 else None
    if fast is not None:
        return _finish(fast, np.arange(2, len(fast) + 2), encoding, delimiter, [], name)
    lines = io.StringIO(text, newline="")
    if first_line == 2:
        lines.readline()
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:  # pragma: no cover - guarded by strip() above
        raise SchemaError("has no header row", file=name) from None
    width = len(header)
    rows, starts, malformed = [], [], []
    spans = []  # (start line, end line) of kept records that span several physical lines
    prev = reader.line_num + first_line - 1
    last = None  # (start line, fields) of the last non-blank record
    try:
        for rec in reader:
            start = prev + 1
            prev = reader.line_num + first_line - 1
            if not rec or (len(rec) == 1 and not rec[0].strip() and width > 1):
                continue  # blank line
            last = (start, rec)
            if len(rec) != width:
                malformed.append((start, f"expected {width} fields, found {len(rec)}"))
                continue
            rows.append(rec)
            starts.append(start)
            if prev > start:
                spans.append((start, prev))
    except csv.Error as exc:
        raise SchemaError(f"cannot be parsed as CSV ({exc})", file=name, row=prev + 1) from exc
    if last is not None and _unterminated(text, last, delimiter):
        # a quote opened in the last record never closes: the lenient reader put the rest of the
        # file into one cell. Report the record where it starts instead of storing swallowed text.
        start = last[0]
        if starts and starts[-1] == start:
            rows.pop()
            starts.pop()
        spans = [sp for sp in spans if sp[0] != start]
        malformed = [m for m in malformed if m[0] != start]
        malformed.append((start, "a quoted field opened on this line is never closed (everything after it "
                                 "would have become one cell)"))
    if spans:
        swallowed = _swallowing(text, spans, rows, starts, width, delimiter)
        if swallowed:
            keep = [i for i, st in enumerate(starts) if st not in swallowed]
            rows, starts = [rows[i] for i in keep], [starts[i] for i in keep]
            malformed += [(st, f"possible unclosed quote starting on line {st}: the quoted field runs on to line "
                               f"{end} and swallows what look like whole records ({swallowed[st]})")
                          for st, end in spans if st in swallowed]
            malformed.sort(key=lambda m: m[0])
    frame = pd.DataFrame(rows, columns=range(width), dtype=object) if rows else pd.DataFrame(
        columns=range(width), dtype=object)
    frame.columns = header
    return _finish(frame, starts, encoding, delimiter, malformed, name)


def _physical_lines(text: str) -> int:
    """Lines as the CSV reader counts them: ``\\r\\n``, ``\\r`` and ``\\n`` end a line; a last line
    without one counts too."""
    n = text.count("\n") + text.count("\r") - text.count("\r\n")
    return n + (1 if text and text[-1] not in "\r\n" else 0)


def _read_simple(text: str, delimiter: str) -> pd.DataFrame | None:
    """The records of a file with one record per physical line, parsed by pandas' C reader; None otherwise.

    The stdlib reader loop in :func:`read_table` costs seconds per million records; pandas' C parser
    does the same split in a fraction of it and shares the string objects of repeated cells. It is
    used only when the file is proven to read the same both ways, checked on the whole text:

    * no NUL character and no blank line (two line ends in a row, or one at the very start);
    * every ``"`` belongs to a well-formed quoted field: one that starts a field, doubles its inner
      quotes, holds no line break and is followed by the delimiter or a line end (what RFC 4180
      writers produce; stray or unclosed quotes, which the stdlib reader treats leniently, go to the
      slow path with its malformed-record reports);
    * every line has the header's number of fields: pandas refuses a longer line, and the
      delimiters outside quoted fields number exactly ``lines * (width - 1)``;
    * pandas returns one row per physical line.

    Returns the frame with integer column labels (the header row excluded, its cells set as the
    column names) and every cell a ``str``; record ``i`` is on line ``i + 2``.
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
    try:
        # UTF-8 bytes, not io.StringIO: that holds 4 bytes per character (285 MB for a 71 MB file)
        raw = pd.read_csv(io.BytesIO(text.encode("utf-8")), encoding="utf-8", sep=delimiter, header=None,
                          dtype=object, na_filter=False, keep_default_na=False, skip_blank_lines=False,
                          engine="c", quotechar='"', doublequote=True, escapechar=None, comment=None,
                          skipinitialspace=False)
    except Exception:  # the checks above passed but pandas disagrees: let the stdlib reader decide
        return None
    if len(raw) != n_lines or raw.shape[1] != width:
        return None
    frame = raw.iloc[1:]
    frame.columns = raw.iloc[0].tolist()
    return frame


_QUOTED: dict[str, re.Pattern] = {}


def _quoted_field(delimiter: str) -> re.Pattern:
    """A well-formed quoted field: starts a field, doubled inner quotes, ends before a delimiter or line end."""
    if delimiter not in _QUOTED:
        d = re.escape(delimiter)
        _QUOTED[delimiter] = re.compile(rf'"(?<![^{d}\r\n]")[^"]*(?:""[^"]*)*"(?![^{d}\r\n])')
    return _QUOTED[delimiter]


def _unterminated(text: str, last: tuple[int, list], delimiter: str) -> bool:
    """Whether the last record ends inside a quoted field (only possible when a field holds a line break)."""
    start, rec = last
    if not any("\n" in f or "\r" in f for f in rec):
        return False
    tail = "".join(io.StringIO(text, newline="").readlines()[start - 1:])
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _shape(value: str) -> str:
    """Character-class outline of a cell: letters -> 'A', digits -> '9', runs collapsed ('WC-701' -> 'A-9')."""
    return re.sub(r"([A9])\1+", r"\1", re.sub(r"[^\W\d_]", "A", re.sub(r"\d", "9", value)))


def _swallowing(text: str, spans: list, rows: list, starts: list, width: int, delimiter: str) -> dict:
    """Multi-line records that are probably several records merged by a quote that was never closed.

    Legitimate multi-line cells (HTML descriptions) are common, so a record spanning lines is flagged
    only when its raw text shows the merge:

    * re-read with ``strict=True`` it fails: a closing quote is followed by something other than the
      delimiter or a line end (``A2,"Two`` ... ``A4,"Four"``), which valid RFC 4180 quoting never does;
    * or one of its continuation lines, read on its own, has exactly the header's field count and starts
      with a cell shaped like the first cell of the single-line records (``A3,Three`` among ``A1``, ``A5``).

    Returns ``{start line: short reason}`` for the flagged records.
    """
    physical = io.StringIO(text, newline="").readlines()
    span_starts = {st for st, _ in spans}
    shapes = set()
    for rec, st in zip(rows, starts):
        if st not in span_starts and rec[0].strip():
            shapes.add(_shape(rec[0].strip()))
            if len(shapes) > 50:  # first column is free text, not an id: the shape test means nothing
                shapes = set()
                break
    shapes = {sh for sh in shapes if sh != "A" and not re.search(r"\s", sh)}  # a bare word is no record start
    out = {}
    for start, end in spans:
        segment = physical[start - 1:end]
        try:
            parsed = list(csv.reader(io.StringIO("".join(segment), newline=""), delimiter=delimiter, strict=True))
        except csv.Error:
            out[start] = "a closing quote is followed by more text"
            continue
        if len(parsed) != 1:  # pragma: no cover - the lenient reader saw one record here
            out[start] = f"it reads as {len(parsed)} records"
            continue
        for offset, line in enumerate(segment[1:], start=start + 1):
            alone = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])
            if width > 1 and len(alone) == width and alone[0].strip() and _shape(alone[0].strip()) in shapes:
                out[start] = f"line {offset} reads as a record of its own"
                break
    return out


def _finish(frame, starts, encoding, delimiter, malformed, name) -> ReadResult:
    cols = [str(c).replace("\ufeff", "").strip().strip('"').strip() for c in frame.columns]
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
    frame.columns = cols
    frame = frame.astype(object)
    return ReadResult(frame.reset_index(drop=True), np.asarray(starts, dtype=np.int64), encoding, delimiter,
                      malformed)
