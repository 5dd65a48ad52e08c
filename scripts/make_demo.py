"""Build the bundled demo data (catalog.csv, orders.csv) from the Instacart 1,000-user subset.

Source: "The Instacart Online Grocery Shopping Dataset 2017", 1,000-user subset with full histories
(see ../shared/datasets/instacart/SOURCE.md). Instacart released it "as-is for non-commercial use".

Transformation
--------------
catalog.csv  (product_id,title,category)
    Only the products that appear in the kept order lines, sorted by product_id (numeric).
    title    = product_name with backslash-escaped quotes ``\\"`` turned into ``"``; nothing else
               changed (non-ASCII characters, including NBSP U+00A0, are kept as they are).
    category = "<department> > <aisle>", empty for products in department ``missing``.
orders.csv   (order_id,product_id,customer_id,quantity,order_number)
    One row per line of order_items_demo.csv joined to orders_demo.csv on order_id;
    customer_id = user_id, quantity = 1 (Instacart does not record quantity). Only ``prior`` orders
    have contents; the ``test`` orders (each user's last) have none and are left out.
    Sorted by customer_id, order_number, add_to_cart_order.

Output is UTF-8, comma-separated, header row, LF line ends, ids as integers. The same inputs and
arguments give byte-identical files.

Column names match ``core/schema.py`` (PRODUCT_ID, TITLE, CATEGORY, ORDER_ID, CUSTOMER_ID,
QUANTITY, ORDER_NUMBER). They are spelled out here so that the script needs only the standard
library and pandas, and runs without the ``core`` package on the path.

Usage (from the repository root)::

    python scripts/make_demo.py                                              # data/demo, all users
    python scripts/make_demo.py --users 60 --out tests/fixtures/instacart_small
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "datasets" / "instacart"
DEFAULT_OUT = REPO_ROOT / "data" / "demo"

SOURCE_FILES = ("orders_demo.csv", "order_items_demo.csv", "products.csv", "aisles.csv",
                "departments.csv")
CATALOG_COLUMNS = ["product_id", "title", "category"]
ORDERS_COLUMNS = ["order_id", "product_id", "customer_id", "quantity", "order_number"]
MISSING_DEPARTMENT = "missing"
CATEGORY_JOIN = " > "
PRIOR = "prior"


def _read(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """Read ``columns`` ({name: dtype}) from a source CSV; text is read verbatim (no NA guessing)."""
    return pd.read_csv(path, usecols=list(columns), dtype=columns, encoding="utf-8",
                       keep_default_na=False, na_values=[])


def load_source(source: Path) -> dict[str, pd.DataFrame]:
    """Read the five Instacart source files from ``source``.

    Raises
    ------
    FileNotFoundError
        If ``source`` lacks one of the files.
    """
    missing = [name for name in SOURCE_FILES if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(f"source {source} lacks {', '.join(missing)}")
    return {
        "orders": _read(source / "orders_demo.csv",
                        {"order_id": "int64", "user_id": "int64", "eval_set": "str",
                         "order_number": "int64"}),
        "items": _read(source / "order_items_demo.csv",
                       {"order_id": "int64", "product_id": "int64", "add_to_cart_order": "int64"}),
        "products": _read(source / "products.csv",
                          {"product_id": "int64", "product_name": "str", "aisle_id": "int64",
                           "department_id": "int64"}),
        "aisles": _read(source / "aisles.csv", {"aisle_id": "int64", "aisle": "str"}),
        "departments": _read(source / "departments.csv",
                             {"department_id": "int64", "department": "str"}),
    }


def build(tables: dict[str, pd.DataFrame], users: int | None = None
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn the source tables into the canonical (catalog, orders) frames.

    Parameters
    ----------
    tables : dict
        Output of :func:`load_source`.
    users : int or None
        Keep only the first ``users`` user ids in ascending numeric order; None keeps all.

    Returns
    -------
    catalog : DataFrame with columns ``CATALOG_COLUMNS``, one row per product in ``orders``.
    orders : DataFrame with columns ``ORDERS_COLUMNS``, one row per order line.

    Raises
    ------
    ValueError
        If an order line refers to an unknown or non-``prior`` order, or to an unknown product,
        aisle or department (the source would then not be the one SOURCE.md describes).
    """
    orders, items, products = tables["orders"], tables["items"], tables["products"]
    if users is not None:
        kept_users = sorted(orders["user_id"].unique())[:users]
        orders = orders[orders["user_id"].isin(kept_users)]

    lines = items.merge(orders, on="order_id", how="inner", validate="many_to_one")
    unknown_orders = ~items["order_id"].isin(tables["orders"]["order_id"])
    if unknown_orders.any():
        raise ValueError(f"{int(unknown_orders.sum())} order lines refer to unknown order ids, "
                         f"e.g. {int(items.loc[unknown_orders, 'order_id'].iloc[0])}")
    not_prior = lines["eval_set"] != PRIOR
    if not_prior.any():
        raise ValueError(f"{int(not_prior.sum())} order lines belong to non-prior orders")
    lines = lines.sort_values(["user_id", "order_number", "add_to_cart_order"], kind="stable")
    out_orders = pd.DataFrame({
        "order_id": lines["order_id"].to_numpy(),
        "product_id": lines["product_id"].to_numpy(),
        "customer_id": lines["user_id"].to_numpy(),
        "quantity": 1,
        "order_number": lines["order_number"].to_numpy(),
    }, columns=ORDERS_COLUMNS)

    kept = products[products["product_id"].isin(out_orders["product_id"].unique())]
    unknown_products = set(out_orders["product_id"].unique()) - set(kept["product_id"])
    if unknown_products:
        raise ValueError(f"{len(unknown_products)} product ids in order lines are not in "
                         f"products.csv, e.g. {min(unknown_products)}")
    kept = (kept.merge(tables["aisles"], on="aisle_id", how="left", validate="many_to_one")
                .merge(tables["departments"], on="department_id", how="left",
                       validate="many_to_one"))
    if kept["aisle"].isna().any() or kept["department"].isna().any():
        raise ValueError("some kept products refer to an unknown aisle_id or department_id")
    kept = kept.sort_values("product_id", kind="stable")
    category = kept["department"] + CATEGORY_JOIN + kept["aisle"]
    category = category.where(kept["department"] != MISSING_DEPARTMENT, "")
    catalog = pd.DataFrame({
        "product_id": kept["product_id"].to_numpy(),
        "title": kept["product_name"].str.replace('\\"', '"', regex=False).to_numpy(),
        "category": category.to_numpy(),
    }, columns=CATALOG_COLUMNS)
    return catalog, out_orders


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as UTF-8, comma, header row, LF, minimal quoting, no index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"--users must be >= 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="folder with the Instacart subset (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default: %(default)s)")
    parser.add_argument("--users", type=_positive_int, default=None,
                        help="keep only the first N user ids in ascending order (default: all)")
    args = parser.parse_args(argv)

    try:
        tables = load_source(args.source)
    except FileNotFoundError as exc:
        parser.error(str(exc))
    catalog, orders = build(tables, args.users)

    outputs = {"catalog.csv": catalog, "orders.csv": orders}
    for name, frame in outputs.items():
        write_csv(frame, args.out / name)
    n_users = orders["customer_id"].nunique()
    n_orders = orders["order_id"].nunique()
    print(f"users {n_users}, orders {n_orders}, order lines {len(orders)}, "
          f"products {len(catalog)} ({int((catalog['category'] == '').sum())} uncategorised)")
    for name, frame in outputs.items():
        path = args.out / name
        print(f"{path}  rows={len(frame)}  bytes={path.stat().st_size}  sha256={sha256(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
