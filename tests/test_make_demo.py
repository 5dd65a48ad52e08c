"""scripts/make_demo.py on the real Instacart subset (first 5 users).

Expected values were looked up by hand in ../shared/datasets/instacart:
  products.csv   14947,Pure Sparkling Water,115,7 ; 18542,Protein Bar Mint Chocolate,100,21
  aisles.csv     115,water seltzer sparkling water ; 100,missing
  departments.csv 7,beverages ; 21,missing
The first 5 user ids are 347, 688, 1161, 1285, 1341 with 4 + 64 + 10 + 47 + 6 = 131 orders, of which
5 are `test` orders (no contents), so 126 prior orders with 825 lines over 299 products.
"""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from core.paths import shared_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "make_demo.py"
SOURCE = shared_dir() / "datasets" / "instacart"

pytestmark = pytest.mark.skipif(
    not (SOURCE / "products.csv").is_file(),
    reason=f"Instacart source data not present at {SOURCE} (see shared/datasets/instacart/SOURCE.md)",
)


def _run(out: Path, users: int = 5) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--source", str(SOURCE), "--users", str(users),
         "--out", str(out)],
        check=True, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    _run(out)
    return out


@pytest.fixture(scope="module")
def catalog(out_dir) -> pd.DataFrame:
    return pd.read_csv(out_dir / "catalog.csv", dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def orders(out_dir) -> pd.DataFrame:
    return pd.read_csv(out_dir / "orders.csv", dtype=str, keep_default_na=False, encoding="utf-8")


def test_headers_exact(out_dir):
    with open(out_dir / "catalog.csv", newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == ["product_id", "title", "category"]
    with open(out_dir / "orders.csv", newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == ["order_id", "product_id", "customer_id", "quantity",
                                       "order_number"]


def test_format_utf8_lf_no_bom(out_dir):
    for name in ("catalog.csv", "orders.csv"):
        raw = (out_dir / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), name
        assert b"\r" not in raw, name
        assert raw.endswith(b"\n"), name
        raw.decode("utf-8")


def test_row_counts_for_first_five_users(catalog, orders):
    assert sorted(orders["customer_id"].unique(), key=int) == ["347", "688", "1161", "1285", "1341"]
    assert orders["order_id"].nunique() == 126
    assert len(orders) == 825
    assert len(catalog) == 299


def test_ids_are_integers_without_decimals(catalog, orders):
    for col in ("order_id", "product_id", "customer_id", "order_number"):
        assert orders[col].str.fullmatch(r"[0-9]+").all(), col
    assert catalog["product_id"].str.fullmatch(r"[0-9]+").all()


def test_every_order_product_is_in_catalog_and_catalog_only_has_ordered_products(catalog, orders):
    assert catalog["product_id"].is_unique
    assert set(orders["product_id"]) == set(catalog["product_id"])


def test_catalog_sorted_numerically(catalog):
    ids = catalog["product_id"].astype(int).tolist()
    assert ids == sorted(ids)


def test_orders_sorted_by_customer_then_order_number(orders):
    keys = list(zip(orders["customer_id"].astype(int), orders["order_number"].astype(int)))
    assert keys == sorted(keys)
    # order_items_demo.csv lines 58664-58668: order 1257636 (user 347's order 1) in cart order
    assert orders["order_id"].iloc[0] == "1257636"
    first = orders[orders["order_id"] == "1257636"]["product_id"].tolist()
    assert first == ["27325", "21543", "44422", "47044", "9018"]


def test_category_joined_department_aisle(catalog):
    row = catalog.set_index("product_id").loc["14947"]
    assert row["title"] == "Pure Sparkling Water"
    assert row["category"] == "beverages > water seltzer sparkling water"
    assert " > " in row["category"]


def test_missing_department_gives_empty_category(catalog):
    cat = catalog.set_index("product_id")["category"]
    assert cat.loc["18542"] == ""
    assert not cat.str.contains("missing").any()
    assert (cat[cat != ""].str.count(" > ") == 1).all()


def test_no_test_order_rows(orders):
    source_orders = pd.read_csv(SOURCE / "orders_demo.csv", usecols=["order_id", "eval_set"],
                                dtype=str)
    test_ids = set(source_orders.loc[source_orders["eval_set"] == "test", "order_id"])
    assert len(test_ids) == 1000
    assert not set(orders["order_id"]) & test_ids


def test_quantity_all_one(orders):
    assert (orders["quantity"] == "1").all()


def test_no_escaped_quotes_in_titles(catalog):
    assert not catalog["title"].str.contains('\\"', regex=False).any()


def test_escaped_quotes_unescaped_on_a_known_product(tmp_path):
    # products.csv line 31379: 31378,"Traditional Size Corn Tortillas, 6\""",128,3
    # (aisle 128 tortillas flat bread, department 3 bakery); first bought within the first 60 users.
    _run(tmp_path, users=60)
    raw = (tmp_path / "catalog.csv").read_text(encoding="utf-8")
    assert '31378,"Traditional Size Corn Tortillas, 6""",bakery > tortillas flat bread\n' in raw
    cat = pd.read_csv(tmp_path / "catalog.csv", dtype=str, keep_default_na=False)
    titles = cat.set_index("product_id")["title"]
    assert titles.loc["31378"] == 'Traditional Size Corn Tortillas, 6"'
    assert not titles.str.contains("\\", regex=False).any()


def test_same_run_twice_is_byte_identical(out_dir, tmp_path):
    _run(tmp_path)
    for name in ("catalog.csv", "orders.csv"):
        assert (tmp_path / name).read_bytes() == (out_dir / name).read_bytes(), name


def test_users_must_be_positive(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--users", "0", "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert proc.returncode == 2
    assert "--users must be >= 1, got 0" in proc.stderr
