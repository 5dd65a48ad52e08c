"""core.ingest.read.read_preview: the Data page's mapping preview reads only the first records."""
import pytest

from core.errors import SchemaError
from core.ingest import read_table
from core.ingest.read import read_preview


def _csv(n: int) -> bytes:
    return ("order_id;product_id;quantity\n" + "".join(f"{i};P{i % 7};{i % 3 + 1}\n" for i in range(n))).encode()


def test_preview_stops_after_the_first_records_with_true_line_numbers():
    data = _csv(2500)
    head, complete = read_preview(data, "orders.csv", rows=1000)
    whole = read_table(data, "orders.csv")
    assert not complete
    assert len(head.frame) == 1000
    assert head.delimiter == ";" == whole.delimiter and head.encoding == whole.encoding
    assert head.frame.equals(whole.frame.head(1000))
    assert list(head.line_numbers) == list(whole.line_numbers[:1000])


def test_preview_of_a_small_file_is_the_whole_file():
    data = _csv(10)
    head, complete = read_preview(data, "orders.csv", rows=1000)
    assert complete and head.frame.equals(read_table(data, "orders.csv").frame)
    head, complete = read_preview(_csv(1000), "orders.csv", rows=1000)
    assert complete and len(head.frame) == 1000


def test_preview_refuses_what_the_import_refuses():
    bad = b"order_id,order_id,product_id\n1,2,3\n"
    with pytest.raises(SchemaError, match="order_id"):
        read_table(bad, "dup.csv")
    with pytest.raises(SchemaError, match="order_id"):
        read_preview(bad, "dup.csv")
    with pytest.raises(ValueError):
        read_preview(_csv(3), "x.csv", rows=0)
