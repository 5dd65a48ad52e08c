"""Property: any catalog a user can write survives CSV -> validation -> database -> back, exactly."""
import csv
import io

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import schema as S
from core.store import load_workspace
from core.workspace import import_files

# printable text without the characters a CSV cell cannot carry unquoted-and-stripped
_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff\u00a0"),
                min_size=1, max_size=40).map(str.strip).filter(lambda t: t and t.lower() not in
                                                                {"nan", "none", "null", "na", "n/a", "<na>"})
_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,11}", fullmatch=True)
_price = st.one_of(st.none(), st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False,
                                          allow_infinity=False).map(float))
_row = st.fixed_dictionaries({S.TITLE: _text, S.BRAND: st.one_of(st.none(), _text), S.PRICE: _price})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.dictionaries(_ids, _row, min_size=1, max_size=15))
def test_catalog_rows_round_trip_through_the_database(engine, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([S.PRODUCT_ID, S.TITLE, S.BRAND, S.PRICE])
    for pid, r in rows.items():
        w.writerow([pid, r[S.TITLE], r[S.BRAND] or "", "" if r[S.PRICE] is None else f"{r[S.PRICE]:.2f}"])
    ws = f"rt{abs(hash(tuple(rows))) % 10**9}"
    rep = import_files(engine, ws, {S.CATALOG: ("c.csv", buf.getvalue().encode())})[0]
    assert rep.validation.rows_rejected == 0
    got = load_workspace(engine, ws).catalog.set_index(S.PRODUCT_ID)
    assert sorted(got.index) == sorted(rows)
    for pid, r in rows.items():
        assert got.loc[pid, S.TITLE] == r[S.TITLE]
        brand = got.loc[pid, S.BRAND]
        assert (brand is None or pd.isna(brand)) if r[S.BRAND] is None else brand == r[S.BRAND]
        price = got.loc[pid, S.PRICE]
        assert pd.isna(price) if r[S.PRICE] is None else abs(price - round(r[S.PRICE], 2)) < 1e-9
