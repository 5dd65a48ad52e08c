"""One AppTest per page, on a real SQLite file, the real MiniLM model and a real Instacart subset.

The "demo" workspace here is tests/fixtures/instacart_small (60 customers) so the first build takes
seconds, not a minute; the code path is the one the bundled demo takes.
"""
import os

import pytest
from apptest_env import app_environment, new_app, open_page

from core import schema as S



@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    with app_environment(tmp_path_factory.mktemp("apptest") / "app.sqlite") as db:
        yield db


_app, _open = new_app, open_page


def test_data_page_shows_the_demo_workspace(app_env):
    at = _app()
    assert [t.value for t in at.title] == ["Data"]
    metrics = {m.label: m.value for m in at.metric}
    # tests/fixtures/instacart_small/README.md: 2,385 products, 8,443 lines, 864 orders, 60 customers
    assert metrics["Products"] == "2,385"
    assert metrics["Order lines"] == "8,443"
    assert metrics["Orders"] == "864"
    assert metrics["Customers"] == "60"
    assert at.sidebar.selectbox(key="workspace").value == "demo"


def test_affinity_page_draws_heatmap_table_and_network(app_env):
    at = _open(_app(), "pages/affinity.py")
    heads = [s.value for s in at.subheader]
    assert heads == ["Category × category lift", "Top cross-category item pairs",
                     "Network of the strongest cross-category links", "Do the complements hold up? Held-out check"]
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # heatmap + network
    table = at.dataframe[0].value
    assert len(table) > 0
    assert (table["antecedent_category"] != table["consequent_category"]).all()
    assert (table["pair_count"] >= 2).all()  # default minimum pair count
    # raising the minimum lift filters the table
    at.number_input(key="pair_min_lift").set_value(5.0).run()
    assert (at.dataframe[0].value["lift"] >= 5.0).all()


def test_customers_page_recommends_with_reasons(app_env):
    at = _open(_app(), "pages/customers.py")
    assert "Recommendations" in [s.value for s in at.subheader]
    reasons = [c.value for c in at.caption if "bought" in c.value]
    assert reasons, "at least one recommendation with a checkable reason"
    assert any("baskets hold both" in r or "text similarity" in r for r in reasons)
    # a chosen customer: the selectbox drives the profile
    sb = at.selectbox(key="customer")
    other = sb.options[-1]
    sb.set_value(other.split(" ·")[0] if " ·" in other else other).run()
    assert not at.exception
    assert [c.value for c in at.caption if "bought" in c.value]


def test_widget_state_survives_page_switch(app_env):
    at = _open(_app(), "pages/customers.py")
    at.slider(key="w_text").set_value(1.7).run()
    _open(at, "pages/affinity.py")
    _open(at, "pages/customers.py")
    assert at.slider(key="w_text").value == pytest.approx(1.7)


def test_experiments_page_runs_and_charts(app_env):
    at = _open(_app(), "pages/experiments.py")
    at.number_input(key="exp_horizon").set_value(500)
    at.number_input(key="exp_replicates").set_value(3)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    heads = [s.value for s in at.subheader]
    assert heads == ["Ground truth: held-out conversion per strategy", "Policies compared", "Traffic share over time"]
    assert len(at.get("plotly_chart")) == 4  # arm rates, cumulative reward, regret, traffic
    arms = at.dataframe[0].value
    assert list(arms["arm"]) == ["popular overall", "item co-occurrence (SAR)", "ALS (implicit)", "hybrid"]
    assert ((arms["ci_low"] <= arms["conversion"]) & (arms["conversion"] <= arms["ci_high"])).all()
    summary = at.dataframe[1].value
    assert set(summary["policy"]) == {"A/B split", "epsilon-greedy", "UCB1", "Thompson sampling"}
    assert (summary["final_regret"] >= 0).all()


def test_data_page_mapping_flow_imports_with_the_chosen_columns(app_env):
    """Upload a catalog whose headers are not canonical, fix the mapping, import, see rejects; save a preset."""
    at = _app()
    at.text_input(key="upload_workspace").set_value("shop-a").run()
    catalog = (b"Item Code,Label,Dept,Cost\n"
               b"007,Greek yogurt,dairy eggs > yogurt,3.5\n"
               b"008,,bakery > bread,2\n"            # no title: rejected, row 3
               b"009,Granola,breakfast > cereal,abc\n")  # price not a number: rejected, row 4
    at.file_uploader(key="upload_catalog").set_value(("shop.csv", catalog, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    # nothing suggests "Item Code" / "Label" / "Cost": map them by hand
    digest_key = next(s.key for s in at.selectbox if s.key and s.key.startswith("map_catalog_product_id"))
    suffix = digest_key[len("map_catalog_product_id"):]
    at.selectbox(key="map_catalog_product_id" + suffix).set_value("Item Code")
    at.selectbox(key="map_catalog_title" + suffix).set_value("Label")
    at.selectbox(key="map_catalog_category" + suffix).set_value("Dept")
    at.selectbox(key="map_catalog_price" + suffix).set_value("Cost").run()
    at.text_input(key="preset_name_catalog").set_value("till export").run()
    at.button(key="save_preset_catalog").click().run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.sidebar.selectbox(key="workspace").value == "shop-a"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows loaded"] == "1" and metrics["Rows rejected"] == "2"
    rejects = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert rejects[["row", "column"]].values.tolist() == [[3, "Label"], [4, "Cost"]]
    assert rejects.loc[1, "value"] == "abc"
    from core.store import load_workspace, make_engine
    from core.store.repo import list_presets
    eng = make_engine(os.environ["DATABASE_URL"])
    cat = load_workspace(eng, "shop-a").catalog
    assert cat[S.PRODUCT_ID].tolist() == ["007"] and cat[S.TITLE].tolist() == ["Greek yogurt"]
    assert list_presets(eng, "shop-a")["till export"]["mapping"]["product_id"] == "Item Code"


def test_data_page_suggests_the_shopify_preset_and_merges_variants(app_env):
    at = _app()
    at.text_input(key="upload_workspace").set_value("shopify-1").run()
    export = (b"Handle,Title,Body (HTML),Vendor,Type,Option1 Value,Variant SKU,Variant Price\n"
              b"oak-board,Oak Cutting Board,<p>Solid oak</p>,Holzwerk,Kitchen,Small,OB-S,24.00\n"
              b"oak-board,,,,,Large,OB-L,34.00\n"
              b"tea-tin,Tea Tin,<p>Airtight</p>,Leafy,Tea,,TT-1,9.50\n")
    at.file_uploader(key="upload_catalog").set_value(("products_export.csv", export, "text/csv")).run()
    preset = next(s for s in at.selectbox if s.key and s.key.startswith("preset_catalog"))
    assert preset.value == "Built-in: Shopify product export"
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows loaded"] == "2" and metrics["New products"] == "2"


def test_data_page_joins_the_instacart_multi_file_layout(app_env):
    from core.paths import shared_dir
    src = shared_dir() / "datasets" / "instacart"
    if not src.is_dir():
        pytest.skip(f"{src} not found")
    orders = src.joinpath("orders_demo.csv").read_bytes().splitlines(keepends=True)[:40]
    order_ids = {line.split(b",")[0] for line in orders[1:]}
    items = [line for line in src.joinpath("order_items_demo.csv").read_bytes().splitlines(keepends=True)
             if line.split(b",")[0] in order_ids or line.startswith(b"order_id")]
    at = _app()
    at.text_input(key="upload_workspace").set_value("instacart-upload").run()
    at.file_uploader(key="upload_multi").set_value([
        ("products.csv", src.joinpath("products.csv").read_bytes(), "text/csv"),
        ("aisles.csv", src.joinpath("aisles.csv").read_bytes(), "text/csv"),
        ("departments.csv", src.joinpath("departments.csv").read_bytes(), "text/csv"),
        ("orders_demo.csv", b"".join(orders), "text/csv"),
        ("order_items_demo.csv", b"".join(items), "text/csv")]).run()
    at.button(key="join_multi").click().run()
    assert not at.exception, [e.value for e in at.exception]
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Order lines"] == f"{len(items) - 1:,}"
    assert at.sidebar.selectbox(key="workspace").value == "instacart-upload"
