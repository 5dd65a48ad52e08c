"""Canonical tables and column names. Everything else imports names from here.

Catalog (one row per product)
    product_id (text, unique), title, category (path, levels split on '>'), description
    (optional, may hold HTML), price (optional, >= 0, shop currency), brand (optional).
Orders (one row per order line)
    order_id, product_id, customer_id (optional), quantity (default 1), price (optional),
    ordered_at (optional datetime) or order_number (optional per-customer sequence).
Reviews (one row per review)
    product_id, text, rating (optional, 1..5), customer_id (optional), created_at (optional).
"""
from __future__ import annotations

# --- column names -----------------------------------------------------------------------
PRODUCT_ID = "product_id"
TITLE = "title"
CATEGORY = "category"
DESCRIPTION = "description"
PRICE = "price"
BRAND = "brand"
ORDER_ID = "order_id"
CUSTOMER_ID = "customer_id"
QUANTITY = "quantity"
ORDERED_AT = "ordered_at"
ORDER_NUMBER = "order_number"
TEXT = "text"
RATING = "rating"
CREATED_AT = "created_at"

# derived
LINE_TYPE = "line_type"       # orders: "product" counts for baskets; other values say why not (core.ingest.clean)
PRODUCT_LINE = "product"
CATEGORY_L1 = "category_l1"   # top level of the category path ("department")
CATEGORY_L2 = "category_l2"   # second level ("aisle"); equals L1 when the path has one level
CATEGORY_SEP = ">"
UNCATEGORISED = "(uncategorised)"

# --- tables --------------------------------------------------------------------------------
CATALOG = "catalog"
ORDERS = "orders"
REVIEWS = "reviews"
KINDS = (CATALOG, ORDERS, REVIEWS)

CATALOG_COLUMNS = (PRODUCT_ID, TITLE, CATEGORY, DESCRIPTION, PRICE, BRAND)
CATALOG_REQUIRED = (PRODUCT_ID, TITLE)
ORDERS_COLUMNS = (ORDER_ID, PRODUCT_ID, CUSTOMER_ID, QUANTITY, PRICE, ORDERED_AT, ORDER_NUMBER)
ORDERS_REQUIRED = (ORDER_ID, PRODUCT_ID)
REVIEWS_COLUMNS = (PRODUCT_ID, TEXT, RATING, CUSTOMER_ID, CREATED_AT)
REVIEWS_REQUIRED = (PRODUCT_ID, TEXT)

COLUMNS = {CATALOG: CATALOG_COLUMNS, ORDERS: ORDERS_COLUMNS, REVIEWS: REVIEWS_COLUMNS}
REQUIRED = {CATALOG: CATALOG_REQUIRED, ORDERS: ORDERS_REQUIRED, REVIEWS: REVIEWS_REQUIRED}

# Rejected-row report (one row per problem)
REJECT_COLUMNS = ("file", "row", "column", "value", "reason")

# Output files of `python -m core build`
#: item_pairs.csv: ``customers`` = distinct customers with a basket holding both (core.affinity.pair_customers);
#: ``conviction`` is empty where it is infinite (``conviction_infinite`` True); p_value one-sided Fisher,
#: q_value Benjamini-Hochberg (core.affinity module docstring).
ITEM_PAIR_COLUMNS = ("antecedent_id", "consequent_id", "antecedent_category", "consequent_category",
                     "pair_count", "customers", "support", "confidence", "lift", "leverage", "conviction",
                     "conviction_infinite", "jaccard", "npmi", "p_value", "q_value", "similarity", "affinity")
CATEGORY_PAIR_COLUMNS = ("antecedent_category", "consequent_category", "pair_count", "support",
                         "confidence", "lift")
RECOMMENDATION_COLUMNS = ("customer_id", "rank", "product_id", "category", "score", "reason")

DEMO_WORKSPACE = "demo"
