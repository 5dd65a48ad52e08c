"""core.cli.main in-process: inputs and options it refuses with exit 2 and a message (no build runs).

The end-to-end build on the real fixture is in tests/test_cli.py; these cases stop before the model.
"""
from __future__ import annotations

import gzip

import pytest

from core.cli import main

ORDERS = b"order_id,product_id\nO1,A1\nO1,B2\nO2,A1\nO2,B2\n"
CATALOG = b"product_id,title\nA1,Mug\nB2,Cup\n"


def build(tmp_path, catalog: bytes, name: str = "catalog.csv", *extra, out=None):
    (tmp_path / name).write_bytes(catalog)
    (tmp_path / "orders.csv").write_bytes(ORDERS)
    return main(["build", "--catalog", str(tmp_path / name), "--orders", str(tmp_path / "orders.csv"),
                 "--out", str(out or tmp_path / "out"), "--no-text", "--no-cache", *extra])


@pytest.mark.parametrize("data, name, match", [
    (b"\x1f\x8b\x08\x00broken", "catalog.csv.gz", "is not a valid gzip file"),
    (gzip.compress(CATALOG)[:-12], "catalog.csv.gz", "is not a valid gzip file"),
    (b"PK\x03\x04broken", "catalog.zip", "is not a valid zip file"),
    (b"broken", "catalog.xlsx", "is not a valid Excel .xlsx file"),
    (b"broken", "catalog.parquet", "is not a valid Parquet file"),
])
def test_corrupt_input_exits_2_naming_the_file(tmp_path, capsys, data, name, match):
    assert build(tmp_path, data, name) == 2
    err = capsys.readouterr().err
    assert f"error: file '{tmp_path / name}': {match}" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_out_that_is_an_existing_file_exits_2(tmp_path, capsys):
    (tmp_path / "taken").write_text("not a folder")
    assert build(tmp_path, CATALOG, out=tmp_path / "taken") == 2
    err = capsys.readouterr().err
    assert "error: --out" in err and "is an existing file; give a folder" in err
    assert (tmp_path / "taken").read_text() == "not a folder"


def test_out_inside_a_file_exits_2(tmp_path, capsys):
    (tmp_path / "taken").write_text("not a folder")
    assert build(tmp_path, CATALOG, out=tmp_path / "taken" / "sub") == 2
    assert f"is inside '{tmp_path / 'taken'}', which is a file" in capsys.readouterr().err


def test_strict_message_for_a_malformed_line_has_no_nan(tmp_path, capsys):
    assert build(tmp_path, b"product_id,title\nA1,Mug\nB2,Cup,extra\n", "catalog.csv", "--strict") == 2
    err = capsys.readouterr().err
    assert "row 3: expected 2 fields, found 3; --strict refuses files with rejected rows" in err
    assert "rejected: file" in err and "row 3: expected 2 fields" in err
    assert "nan" not in err.lower() and "None" not in err


def test_header_only_file_is_reported_as_a_warning(tmp_path, capsys):
    build(tmp_path, b"product_id,title\n", "catalog.csv")
    assert "warning: " + str(tmp_path / "catalog.csv") + ": no data rows" in capsys.readouterr().err
