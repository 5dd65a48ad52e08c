"""core.ingest.presets: real export layouts -> canonical frames; e-mails hashed, personal data dropped."""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import schema as S
from core.errors import MappingError, SchemaError
from core.ingest import ReadResult, read_table, validate_table
from core.ingest.presets import (BUILTIN_PRESETS, PERSONAL_DATA_COLUMNS, SHOPIFY_ORDER_PERSONAL_COLUMNS, Preset,
                                 apply_preset, catalog_from_invoice_lines, hash_email, instacart_frames,
                                 shopify_variant_aliases, suggest_preset, woo_first_category)
from core.paths import shared_dir

ROOT = Path(__file__).resolve().parents[2]
SHARED = shared_dir()
DATASETS = SHARED / "datasets"
SALT = "workspace-salt"

# Header lists as Shopify and WooCommerce write them (Shopify admin exports, 2024; WooCommerce 9.x
# built-in product exporter with the Brands column).
SHOPIFY_PRODUCT_HEADERS = [
    "Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
    "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Option3 Name", "Option3 Value",
    "Variant SKU", "Variant Grams", "Variant Inventory Tracker", "Variant Inventory Qty", "Variant Inventory Policy",
    "Variant Fulfillment Service", "Variant Price", "Variant Compare At Price", "Variant Requires Shipping",
    "Variant Taxable", "Variant Barcode", "Image Src", "Image Position", "Image Alt Text", "Gift Card",
    "SEO Title", "SEO Description", "Google Shopping / Google Product Category", "Google Shopping / Gender",
    "Google Shopping / Age Group", "Google Shopping / MPN", "Google Shopping / Condition",
    "Google Shopping / Custom Product", "Variant Image", "Variant Weight Unit", "Variant Tax Code",
    "Cost per item", "Status",
]
SHOPIFY_ORDER_HEADERS = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Accepts Marketing",
    "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method",
    "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
    "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable", "Lineitem fulfillment status",
    "Billing Name", "Billing Street", "Billing Address1", "Billing Address2", "Billing Company", "Billing City",
    "Billing Zip", "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
    "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip",
    "Shipping Province", "Shipping Country", "Shipping Phone", "Notes", "Note Attributes", "Cancelled at",
    "Payment Method", "Payment Reference", "Refunded Amount", "Vendor", "Outstanding Balance", "Employee",
    "Location", "Device ID", "Id", "Tags", "Risk Level", "Source", "Lineitem discount", "Tax 1 Name",
    "Tax 1 Value", "Tax 2 Name", "Tax 2 Value", "Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value",
    "Tax 5 Name", "Tax 5 Value", "Phone", "Receipt Number", "Duties", "Billing Province Name",
    "Shipping Province Name", "Payment ID", "Payment Terms Name", "Next Payment Due At", "Payment References",
]
WOO_PRODUCT_HEADERS = [
    "ID", "Type", "SKU", "Name", "Published", "Is featured?", "Visibility in catalog", "Short description",
    "Description", "Date sale price starts", "Date sale price ends", "Tax status", "Tax class", "In stock?",
    "Stock", "Low stock amount", "Backorders allowed?", "Sold individually?", "Weight (kg)", "Length (cm)",
    "Width (cm)", "Height (cm)", "Allow customer reviews?", "Purchase note", "Sale price", "Regular price",
    "Categories", "Tags", "Shipping class", "Images", "Download limit", "Download expiry days", "Parent",
    "Grouped products", "Upsells", "Cross-sells", "External URL", "Button text", "Position", "Brands",
    "Attribute 1 name", "Attribute 1 value(s)", "Attribute 1 visible", "Attribute 1 global",
]
INVOICE_HEADERS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
                   "Country"]


def csv_bytes(headers: list[str], rows: list[dict]) -> bytes:
    """A CSV as the shop writes it: every header, blank cells where a row has no value."""
    unknown = {k for r in rows for k in r} - set(headers)
    assert not unknown, f"not real headers: {unknown}"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=headers, lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def read(data: bytes, name: str = "export.csv"):
    return read_table(data, name)


def validated(read_result, out: pd.DataFrame, kind: str):
    """Validate a preset's output the way an import would: line numbers follow the output's index."""
    rr = dataclasses.replace(read_result, frame=out.reset_index(drop=True),
                             line_numbers=read_result.line_numbers[out.index.to_numpy()])
    return validate_table(rr, kind, "export.csv", {c: c for c in out.columns if c in S.COLUMNS[kind]})


# --- Shopify product export -----------------------------------------------------------------------

SHOPIFY_PRODUCTS = [
    {"Handle": "linen-shirt", "Title": "Linen Shirt", "Body (HTML)": "<p>Breathable <b>linen</b>.</p>",
     "Vendor": "Northfold", "Product Category": "Apparel & Accessories > Clothing > Shirts & Tops", "Type": "Shirts",
     "Tags": "linen, summer", "Published": "true", "Option1 Name": "Size", "Option1 Value": "S",
     "Variant SKU": "LS-S", "Variant Price": "49.00", "Variant Compare At Price": "59.00",
     "Image Src": "https://cdn.example/ls-1.jpg", "Image Position": "1", "Gift Card": "false", "Status": "active"},
    {"Handle": "linen-shirt", "Option1 Value": "M", "Variant SKU": "LS-M", "Variant Price": "51.00"},
    {"Handle": "linen-shirt", "Option1 Value": "L", "Variant SKU": "LS-L", "Variant Price": "53.00"},
    {"Handle": "linen-shirt", "Image Src": "https://cdn.example/ls-2.jpg", "Image Position": "2"},
    {"Handle": "canvas-tote", "Title": "Canvas Tote", "Body (HTML)": "", "Vendor": "Northfold", "Type": "Bags",
     "Option1 Name": "Title", "Option1 Value": "Default Title", "Variant SKU": "", "Variant Price": "18.50",
     "Status": "active"},
]


def test_shopify_product_variants_become_one_product():
    r = read(csv_bytes(SHOPIFY_PRODUCT_HEADERS, SHOPIFY_PRODUCTS))
    out = apply_preset(r.frame, "Shopify product export", SALT)
    assert list(out.columns) == [S.PRODUCT_ID, S.TITLE, S.CATEGORY, S.DESCRIPTION, S.PRICE, S.BRAND]
    assert out.values.tolist() == [
        ["linen-shirt", "Linen Shirt", "Shirts", "<p>Breathable <b>linen</b>.</p>", "49.00", "Northfold"],
        ["canvas-tote", "Canvas Tote", "Bags", None, "18.50", "Northfold"],
    ]
    assert list(out.index) == [0, 4]  # the first row of each Handle
    v = validated(r, out, S.CATALOG)
    assert len(v.valid) == 2 and v.rejects.empty
    assert v.valid["_line"].tolist() == [2, 6] and v.valid[S.PRICE].tolist() == [49.0, 18.5]


def test_shopify_category_falls_back_to_the_product_category_taxonomy():
    rows = [{k: v for k, v in r.items() if k != "Type"} for r in SHOPIFY_PRODUCTS]
    out = apply_preset(read(csv_bytes(SHOPIFY_PRODUCT_HEADERS, rows)).frame, "Shopify product export", SALT)
    assert out[S.CATEGORY].tolist() == ["Apparel & Accessories > Clothing > Shirts & Tops", None]


def test_shopify_blank_handle_rows_are_kept_for_validation_to_report():
    rows = SHOPIFY_PRODUCTS + [{"Handle": "", "Title": "Orphan", "Variant Price": "1.00"}]
    r = read(csv_bytes(SHOPIFY_PRODUCT_HEADERS, rows))
    out = apply_preset(r.frame, "Shopify product export", SALT)
    assert len(out) == 3 and out[S.PRODUCT_ID].tolist()[-1] is None
    v = validated(r, out, S.CATALOG)
    assert v.rejects[["row", "reason"]].values.tolist() == [[7, "product_id is required but empty"]]


def test_shopify_variant_aliases_join_order_skus_to_handles():
    aliases = shopify_variant_aliases(read(csv_bytes(SHOPIFY_PRODUCT_HEADERS, SHOPIFY_PRODUCTS)).frame)
    assert aliases == {"LS-S": "linen-shirt", "LS-M": "linen-shirt", "LS-L": "linen-shirt"}


# --- Shopify order export -------------------------------------------------------------------------

EMAIL = "Ann.Lee@Example.com"
ORDER_1001 = [
    {"Name": "#1001", "Email": EMAIL, "Financial Status": "paid", "Paid at": "2024-03-02 10:15:09 +0100",
     "Fulfillment Status": "fulfilled", "Accepts Marketing": "no", "Currency": "EUR", "Subtotal": "116.50",
     "Shipping": "4.90", "Taxes": "20.21", "Total": "121.40", "Shipping Method": "Standard",
     "Created at": "2024-03-02 10:15:07 +0100", "Lineitem quantity": "1", "Lineitem name": "Linen Shirt - M",
     "Lineitem price": "51.00", "Lineitem sku": "LS-M", "Lineitem requires shipping": "true",
     "Lineitem taxable": "true", "Lineitem fulfillment status": "fulfilled", "Billing Name": "Ann Lee",
     "Billing Street": "12 Rue des Lilas", "Billing Address1": "12 Rue des Lilas", "Billing City": "Lyon",
     "Billing Zip": "69003", "Billing Country": "FR", "Billing Phone": "+33 6 12 34 56 78",
     "Shipping Name": "Ann Lee", "Shipping Street": "12 Rue des Lilas", "Shipping Address1": "12 Rue des Lilas",
     "Shipping City": "Lyon", "Shipping Zip": "69003", "Shipping Country": "FR", "Notes": "Leave at door",
     "Payment Method": "Shopify Payments", "Payment Reference": "c123.1", "Vendor": "Northfold",
     "Id": "5512345678901", "Source": "web", "Lineitem discount": "0.00", "Phone": "+33612345678",
     "Payment ID": "c123.1", "Payment References": "c123.1"},
    # later rows of the order: only the line-item fields (and Name) are filled
    {"Name": "#1001", "Lineitem quantity": "2", "Lineitem name": "Canvas Tote", "Lineitem price": "18.50",
     "Lineitem sku": "", "Lineitem requires shipping": "true", "Lineitem taxable": "true",
     "Lineitem fulfillment status": "fulfilled", "Vendor": "Northfold", "Lineitem discount": "0.00"},
    {"Name": "#1001", "Lineitem quantity": "1", "Lineitem name": "Linen Shirt - L", "Lineitem price": "53.00",
     "Lineitem sku": "LS-L", "Lineitem requires shipping": "true", "Lineitem taxable": "true",
     "Lineitem fulfillment status": "fulfilled", "Vendor": "Northfold", "Lineitem discount": "0.00"},
]
ORDER_1002 = [  # point-of-sale order: no e-mail
    {"Name": "#1002", "Financial Status": "paid", "Created at": "2024-03-03 09:00:00 +0100",
     "Lineitem quantity": "1", "Lineitem name": "Linen Shirt - S", "Lineitem price": "49.00",
     "Lineitem sku": "LS-S", "Billing Name": "Walk-in", "Source": "pos"},
]


def test_shopify_order_with_three_lines_is_one_order_with_the_email_hashed():
    r = read(csv_bytes(SHOPIFY_ORDER_HEADERS, ORDER_1001 + ORDER_1002))
    out = apply_preset(r.frame, "Shopify order export", SALT)
    assert list(out.columns) == [S.ORDER_ID, S.PRODUCT_ID, S.CUSTOMER_ID, S.QUANTITY, S.PRICE, S.ORDERED_AT]
    hashed = "email:" + hashlib.sha256((SALT + "ann.lee@example.com").encode()).hexdigest()
    assert out.values.tolist() == [
        ["#1001", "LS-M", hashed, "1", "51.00", "2024-03-02 10:15:07 +0100"],
        ["#1001", "Canvas Tote", hashed, "2", "18.50", "2024-03-02 10:15:07 +0100"],  # no SKU: the line name
        ["#1001", "LS-L", hashed, "1", "53.00", "2024-03-02 10:15:07 +0100"],
        ["#1002", "LS-S", None, "1", "49.00", "2024-03-03 09:00:00 +0100"],
    ]
    # the raw e-mail (any case) and every name, address and phone are nowhere in the output
    cells = " ".join(str(v) for v in out.to_numpy().ravel()).lower()
    for secret in (EMAIL, "Ann Lee", "Rue des Lilas", "Lyon", "69003", "+33", "Leave at door", "Walk-in", "c123.1"):
        assert secret.lower() not in cells
    v = validated(r, out, S.ORDERS)
    assert v.rejects.empty and v.valid[S.ORDER_ID].nunique() == 2
    assert v.valid[S.ORDERED_AT].iloc[0] == pd.Timestamp("2024-03-02 09:15:07")  # UTC


def test_shopify_orders_join_the_catalog_through_variant_aliases():
    aliases = shopify_variant_aliases(read(csv_bytes(SHOPIFY_PRODUCT_HEADERS, SHOPIFY_PRODUCTS)).frame)
    raw = read(csv_bytes(SHOPIFY_ORDER_HEADERS, ORDER_1001)).frame
    out = apply_preset(raw, "Shopify order export", SALT, aliases=aliases)
    assert out[S.PRODUCT_ID].tolist() == ["linen-shirt", "Canvas Tote", "linen-shirt"]


def test_no_preset_maps_personal_data():
    for preset in BUILTIN_PRESETS.values():
        for canon, src in preset.mapping.items():
            if src.lower() == "email":
                assert canon == S.CUSTOMER_ID
            else:
                assert src.lower() not in PERSONAL_DATA_COLUMNS, (preset.name, src)
    assert {"billing name", "shipping address1", "billing phone", "phone", "notes"} <= PERSONAL_DATA_COLUMNS
    assert set(SHOPIFY_ORDER_PERSONAL_COLUMNS) <= set(SHOPIFY_ORDER_HEADERS)


# --- hashing --------------------------------------------------------------------------------------

def test_hash_email_is_salted_and_normalised():
    h = hash_email("  Ann@Example.COM ", "s1")
    assert h == "email:" + hashlib.sha256(b"s1ann@example.com").hexdigest()
    assert h == hash_email("ann@example.com", "s1") != hash_email("ann@example.com", "s2")
    assert len(h) == len("email:") + 64


@pytest.mark.parametrize("value, salt, exc, match", [
    ("a@b.co", "", ValueError, r"salt must be a non-empty str"),
    ("a@b.co", None, TypeError, r"salt must be a str, got NoneType"),
    (None, "s", TypeError, r"value must be a str, got NoneType"),
])
def test_hash_email_bad_arguments(value, salt, exc, match):
    with pytest.raises(exc, match=match):
        hash_email(value, salt)


def test_only_cells_that_look_like_emails_are_hashed():
    frame = pd.DataFrame({"order": ["1", "2", "3"], "sku": ["A", "A", "A"],
                          "who": ["bob@shop.example", "C-17", None]})
    preset = Preset("mine", S.ORDERS, {S.ORDER_ID: "order", S.PRODUCT_ID: "sku", S.CUSTOMER_ID: "who"})
    out = apply_preset(frame, preset, SALT)
    assert out[S.CUSTOMER_ID].tolist() == [hash_email("bob@shop.example", SALT), "C-17", None]


# --- WooCommerce product export -------------------------------------------------------------------

WOO_PRODUCTS = [
    {"ID": "11", "Type": "simple", "SKU": "TEE-ORG", "Name": "Organic Tee", "Published": "1",
     "Short description": "Soft tee", "Description": "<p>100% organic cotton.</p>", "In stock?": "1",
     "Regular price": "19.90", "Sale price": "15.00", "Categories": "Clothing > Tshirts, Clothing, Sale",
     "Tags": "cotton", "Brands": "Greenloom", "Parent": ""},
    {"ID": "12", "Type": "variable", "SKU": "HOODIE", "Name": "Zip Hoodie", "Published": "1",
     "Short description": "Warm hoodie", "Description": "", "Regular price": "",
     "Categories": "Clothing > Hoodies\\, Sweatshirts, Clothing", "Attribute 1 name": "Size",
     "Attribute 1 value(s)": "S, M"},
    {"ID": "13", "Type": "variation", "SKU": "HOODIE-S", "Name": "Zip Hoodie - S", "Regular price": "45.00",
     "Parent": "id:12", "Attribute 1 name": "Size", "Attribute 1 value(s)": "S"},
    {"ID": "14", "Type": "variation", "SKU": "HOODIE-M", "Name": "Zip Hoodie - M", "Regular price": "47.00",
     "Parent": "id:12", "Attribute 1 name": "Size", "Attribute 1 value(s)": "M"},
    {"ID": "15", "Type": "simple, virtual", "SKU": "GIFTWRAP", "Name": "'=Gift wrap", "Regular price": "3.00",
     "Categories": "Home\\, Garden > Tools", "Brands": ""},
]


def test_woocommerce_products_categories_and_variations():
    r = read(csv_bytes(WOO_PRODUCT_HEADERS, WOO_PRODUCTS))
    out = apply_preset(r.frame, "WooCommerce product export", SALT)
    assert out.values.tolist() == [
        ["TEE-ORG", "Organic Tee", "Clothing > Tshirts", "<p>100% organic cotton.</p>", "19.90", "Greenloom"],
        ["HOODIE", "Zip Hoodie", "Clothing > Hoodies, Sweatshirts", "Warm hoodie", "45.00", None],
        ["GIFTWRAP", "=Gift wrap", "Home, Garden > Tools", None, "3.00", None],
    ]
    v = validated(r, out, S.CATALOG)
    assert v.rejects.empty and v.valid[S.CATEGORY].tolist()[0] == "Clothing > Tshirts"


def test_woocommerce_uses_id_when_a_product_has_no_sku():
    rows = [dict(WOO_PRODUCTS[0]), dict(WOO_PRODUCTS[4], SKU="")]
    out = apply_preset(read(csv_bytes(WOO_PRODUCT_HEADERS, rows)).frame, "WooCommerce product export", SALT)
    assert out[S.PRODUCT_ID].tolist() == ["11", "15"]


@pytest.mark.parametrize("cell, first", [
    ("Clothing > Tshirts, Clothing", "Clothing > Tshirts"), ("Sale", "Sale"), (None, None),
    ("Home\\, Garden > Tools, Sale", "Home, Garden > Tools"), (" , Toys", "Toys"),
])
def test_woo_first_category(cell, first):
    assert woo_first_category(cell) == first


# --- invoice lines --------------------------------------------------------------------------------

def test_invoice_lines_and_a_catalog_built_from_them():
    rows = [
        {"InvoiceNo": "536365", "StockCode": "85123A", "Description": "WHITE HANGING HEART T-LIGHT HOLDER",
         "Quantity": "6", "InvoiceDate": "2010-12-01 08:26:00", "UnitPrice": "2.55", "CustomerID": "17850.0",
         "Country": "United Kingdom"},
        {"InvoiceNo": "536366", "StockCode": "85123A", "Description": "CREAM HANGING HEART T-LIGHT HOLDER",
         "Quantity": "6", "InvoiceDate": "2010-12-01 08:28:00", "UnitPrice": "2.95", "CustomerID": "",
         "Country": "United Kingdom"},
        {"InvoiceNo": "536367", "StockCode": "85123A", "Description": "WHITE HANGING HEART T-LIGHT HOLDER",
         "Quantity": "1", "InvoiceDate": "2010-12-01 08:34:00", "UnitPrice": "0", "CustomerID": "13047.0",
         "Country": "United Kingdom"},
        {"InvoiceNo": "C536379", "StockCode": "D", "Description": "Discount", "Quantity": "-1",
         "InvoiceDate": "2010-12-01 09:41:00", "UnitPrice": "27.5", "CustomerID": "14527.0",
         "Country": "United Kingdom"},
    ]
    raw = read(csv_bytes(INVOICE_HEADERS, rows)).frame
    assert suggest_preset(raw.columns) == "Invoice lines (UCI Online Retail style)"
    out = apply_preset(raw, "Invoice lines (UCI Online Retail style)", SALT)
    assert out[S.CUSTOMER_ID].tolist() == ["17850", None, "13047", "14527"]
    assert out[S.TITLE].tolist()[0] == "WHITE HANGING HEART T-LIGHT HOLDER"
    cat = catalog_from_invoice_lines(raw)
    # most frequent description (2 of 3 lines); median of the prices > 0 (2.55, 2.95)
    assert cat.values.tolist() == [["85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "2.75"],
                                   ["D", "Discount", "27.5"]]
    assert catalog_from_invoice_lines(out).values.tolist() == cat.values.tolist()


# --- clothing reviews (real file head) ------------------------------------------------------------

def test_clothing_reviews_real_file_head():
    path = DATASETS / "womens_clothing_reviews" / "womens_clothing_ecommerce_reviews.csv"
    if not path.is_file():
        pytest.skip(f"the clothing-reviews file is not at {path} (shared/datasets is absent)")
    # its first header cell is empty (an unnamed row index, SOURCE.md line 50)
    raw = pd.read_csv(path, nrows=50, dtype=str, keep_default_na=False, index_col=0)
    assert suggest_preset(raw.columns) == "Clothing reviews export"
    out = apply_preset(raw, "Clothing reviews export", SALT)
    assert list(out.columns) == [S.PRODUCT_ID, S.TEXT, S.RATING] and len(out) == 50
    assert out.iloc[0].tolist() == ["767", "Absolutely wonderful - silky and sexy and comfortable", "4"]
    assert out.iloc[2, 1].startswith("Some major design flaws. I had such high hopes for this dress")
    titled = (raw["Title"] != "").to_numpy()
    assert all(t.startswith(title) for t, title in zip(out[S.TEXT][titled], raw["Title"][titled]))
    assert out[S.TEXT][~titled].tolist() == raw["Review Text"][~titled].str.strip().tolist()
    assert "Age" not in out.columns  # the reviewer's age is not a customer id
    rr = ReadResult(out.reset_index(drop=True), np.arange(2, 52), "utf-8", ",", [])
    v = validate_table(rr, S.REVIEWS, "reviews.csv", {c: c for c in out.columns})
    assert len(v.valid) == 50 and v.rejects.empty
    assert v.valid[S.RATING].between(1, 5).all()


# --- Instacart (real files, first 20 orders) ------------------------------------------------------

def test_instacart_frames_on_the_first_20_orders():
    folder = DATASETS / "instacart"
    names = ["products.csv", "aisles.csv", "departments.csv", "orders_demo.csv", "order_items_demo.csv"]
    if not all((folder / n).is_file() for n in names):
        pytest.skip(f"the Instacart files are not in {folder} (shared/datasets is absent)")
    orders = pd.read_csv(folder / "orders_demo.csv", dtype=str, keep_default_na=False).head(20)
    items = pd.read_csv(folder / "order_items_demo.csv", dtype=str)
    items = items[items["order_id"].isin(orders["order_id"])]
    files = {n: (folder / n).read_bytes() for n in names[:3]}
    files["orders_demo.csv"] = orders.to_csv(index=False).encode()
    files["order_items_demo.csv"] = items.to_csv(index=False).encode()

    catalog, lines = instacart_frames(files)
    assert len(catalog) == 49_688  # SOURCE.md: the full catalog
    cat = catalog.set_index(S.PRODUCT_ID)
    assert cat.loc["1"].tolist() == ["Chocolate Sandwich Cookies", "snacks > cookies cakes"]
    assert cat.loc["483", S.TITLE] == '"Constant Comment" Decaffeinated Black Tea Blend'  # SOURCE.md: \" unescaped
    assert cat[S.CATEGORY].isna().sum() == 1_258  # SOURCE.md: the 'missing' bucket is uncategorised

    assert list(lines.columns) == [S.ORDER_ID, S.PRODUCT_ID, S.CUSTOMER_ID, S.ORDER_NUMBER]
    assert len(lines) == len(items) > 0
    assert lines[[S.ORDER_ID, S.PRODUCT_ID]].values.tolist() == items[["order_id", "product_id"]].values.tolist()
    by_order = orders.set_index("order_id")
    assert lines[S.CUSTOMER_ID].tolist() == by_order.loc[lines[S.ORDER_ID], "user_id"].tolist()
    assert lines[S.ORDER_NUMBER].tolist() == by_order.loc[lines[S.ORDER_ID], "order_number"].tolist()
    with_lines = set(lines[S.ORDER_ID])
    assert with_lines == set(orders.loc[orders["eval_set"] == "prior", "order_id"]) & set(items["order_id"])
    # the combine hook returns both tables; suggest_preset recognises each Instacart file
    both = BUILTIN_PRESETS["Instacart multi-file"].combine(files)
    assert set(both) == {S.CATALOG, S.ORDERS} and len(both[S.ORDERS]) == len(lines)
    for n in names:
        header = files[n].split(b"\n", 1)[0].decode().strip().split(",")
        assert suggest_preset(header) == "Instacart multi-file", n


def test_instacart_frames_reports_what_is_missing():
    files = {"aisles.csv": b"aisle_id,aisle\n1,tea\n", "departments.csv": b"department_id,department\n1,drinks\n"}
    with pytest.raises(SchemaError, match=r"needs products, aisles, departments, orders, order_lines files; "
                                          r"missing: products, orders, order_lines"):
        instacart_frames(files)
    with pytest.raises(SchemaError, match=r"file 'x.csv': is not one of the Instacart files .* columns are a, b"):
        instacart_frames({**files, "x.csv": b"a,b\n1,2\n"})


# --- the preset type, suggestions, errors ---------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(name="", kind=S.ORDERS, mapping={}), ValueError, r"name must be a non-empty str"),
    (dict(name="x", kind="sales", mapping={}), ValueError, r"kind must be one of .*got 'sales'"),
    (dict(name="x", kind=S.ORDERS, mapping=[("order_id", "a")]), TypeError, r"mapping must be a mapping"),
    (dict(name="x", kind=S.ORDERS, mapping={"colour": "a"}), ValueError, r"mapping: 'colour' is not a canonical"),
    (dict(name="x", kind=S.ORDERS, mapping={S.ORDER_ID: ""}), TypeError, r"source header of 'order_id' must be"),
    (dict(name="x", kind=S.ORDERS, mapping={S.CUSTOMER_ID: "Billing Name"}), ValueError,
     r"'Billing Name' is personal data"),
    (dict(name="x", kind=S.ORDERS, mapping={S.ORDER_ID: "Shipping Address1"}), ValueError,
     r"'Shipping Address1' is personal data"),
    (dict(name="x", kind=S.ORDERS, mapping={S.ORDER_ID: "Email"}), ValueError,
     r"e-mail column 'Email' may only be the customer_id"),
    (dict(name="x", kind=S.ORDERS, mapping={}, transform="upper"), TypeError, r"transform must be callable"),
    (dict(name="x", kind=S.ORDERS, mapping={}, signatures=("a", "b")), TypeError, r"signatures must be a tuple"),
])
def test_bad_presets(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Preset(**kwargs)


def test_presets_are_read_only():
    p = BUILTIN_PRESETS["Shopify order export"]
    with pytest.raises(TypeError):
        p.mapping[S.ORDER_ID] = "Id"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.name = "x"  # type: ignore[misc]


def test_builtin_presets():
    assert list(BUILTIN_PRESETS) == ["Shopify product export", "Shopify order export", "WooCommerce product export",
                                     "Invoice lines (UCI Online Retail style)", "Instacart multi-file",
                                     "Clothing reviews export"]
    assert {p.kind for p in BUILTIN_PRESETS.values()} == set(S.KINDS)


@pytest.mark.parametrize("headers, name", [
    (SHOPIFY_PRODUCT_HEADERS, "Shopify product export"),
    (SHOPIFY_ORDER_HEADERS, "Shopify order export"),
    (WOO_PRODUCT_HEADERS, "WooCommerce product export"),
    (INVOICE_HEADERS, "Invoice lines (UCI Online Retail style)"),
    ([h.lower() for h in INVOICE_HEADERS], "Invoice lines (UCI Online Retail style)"),
    (["Handle", "Title", "Variant Price"], "Shopify product export"),
    (["product_id", "title", "category"], None),
    (["order_id", "product_id", "quantity"], None),
    ([], None),
])
def test_suggest_preset(headers, name):
    assert suggest_preset(headers) == name


def test_apply_preset_errors():
    frame = pd.DataFrame({"Title": ["x"]})
    with pytest.raises(MappingError, match=r"the Shopify product export needs a column 'Handle'; the file has Title"):
        apply_preset(frame, "Shopify product export", SALT)
    with pytest.raises(ValueError, match=r"preset must be a Preset or one of \["):
        apply_preset(frame, "Magento", SALT)
    with pytest.raises(TypeError, match=r"preset must be a Preset or a preset name, got int"):
        apply_preset(frame, 3, SALT)
    with pytest.raises(ValueError, match=r"salt must be a non-empty str"):
        apply_preset(frame, "Shopify product export", "")
    with pytest.raises(TypeError, match=r"frame must be a pandas DataFrame"):
        apply_preset([1], "Shopify product export", SALT)
    plain = Preset("mine", S.CATALOG, {S.PRODUCT_ID: "sku", S.TITLE: "name"})
    with pytest.raises(MappingError, match=r"preset 'mine' maps title to column 'name', which is not in the file"):
        apply_preset(pd.DataFrame({"SKU": ["A"]}), plain, SALT)
    out = apply_preset(pd.DataFrame({"SKU": ["A"], "Name": ["Mug"], "Secret": ["x"]}), plain, SALT)
    assert out.to_dict("list") == {S.PRODUCT_ID: ["A"], S.TITLE: ["Mug"]}  # unmapped columns are dropped


def test_apply_preset_does_not_modify_its_input():
    raw = read(csv_bytes(SHOPIFY_ORDER_HEADERS, ORDER_1001)).frame
    before = raw.copy()
    apply_preset(raw, "Shopify order export", SALT)
    pd.testing.assert_frame_equal(raw, before)
