"""One exception family for the engine; only the UI (pages, CLI) turns them into messages."""
from __future__ import annotations


class CrossSellError(Exception):
    """Base class of every error the engine raises on purpose."""


class SchemaError(CrossSellError):
    """A file cannot be read as the table it claims to be (missing columns, unreadable bytes).

    Parameters
    ----------
    message : str
        What is wrong, in words a merchandiser can act on.
    file : str, optional
        The file's name as the user gave it.
    row : int, optional
        Physical line number (the header is line 1).
    column : str, optional
        The column concerned (as written in the file).
    """

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None):
        self.file, self.row, self.column = file, row, column
        where = ", ".join(p for p in (
            f"file {file!r}" if file else "",
            f"row {row}" if row is not None else "",
            f"column {column!r}" if column else "") if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message


class MappingError(SchemaError):
    """A column mapping names a column the file does not have, or maps two fields to one column."""


class EmptyDataError(CrossSellError):
    """Nothing usable is left (no valid rows, no baskets, no customers with history)."""


class ModelLoadError(CrossSellError):
    """The sentence-embedding model folder is missing or incomplete."""


class WorkspaceError(CrossSellError):
    """A workspace does not exist, or its name is invalid."""
