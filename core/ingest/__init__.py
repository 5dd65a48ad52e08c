"""Upload -> canonical table: read bytes, map columns, validate, report every rejected row."""
from core.ingest.read import ReadResult, read_table
from core.ingest.validate import ValidationResult, validate_table, load_table

__all__ = ["ReadResult", "read_table", "ValidationResult", "validate_table", "load_table"]
