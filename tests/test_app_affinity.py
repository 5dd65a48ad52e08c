"""AppTest of the Affinity page's category inference (issue 4 item 3) on small real subsets.

Workspaces are imported from tests/fixtures/instacart_small (the orders of 12 customers and the
products they bought): ``nocat`` without any category column (categories are inferred from the
titles), ``partial`` with the category of every tenth product blanked (a classifier labels them).
The real MiniLM model reads the titles; the database is a temp SQLite file.
"""
import os

import pandas as pd
import pytest
from apptest_env import FIXTURE, app_environment, new_app, open_page

from core import schema as S


@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    with app_environment(tmp_path_factory.mktemp("apptest_affinity") / "app.sqlite"):
        import core.workspace as ws
        from core.store import make_engine
        orders = pd.read_csv(FIXTURE / "orders.csv", dtype=str)
        orders = orders[orders["customer_id"].isin(sorted(orders["customer_id"].unique())[:12])]
        catalog = pd.read_csv(FIXTURE / "catalog.csv", dtype=str, keep_default_na=False)
        catalog = catalog[catalog["product_id"].isin(set(orders["product_id"]))].reset_index(drop=True)
        partial = catalog.copy()
        partial.loc[partial.index % 10 == 3, "category"] = ""
        engine = make_engine(os.environ["DATABASE_URL"])
        no_category = catalog.drop(columns="category").to_csv(index=False).encode()
        ws.import_files(engine, "nocat", {S.CATALOG: ("catalog.csv", no_category),
                                          S.ORDERS: ("orders.csv", orders.to_csv(index=False).encode())})
        bought = orders["product_id"].value_counts().index[:3].tolist()   # the three most bought products get reviews
        reviews = pd.DataFrame({"product_id": [bought[0], bought[0], bought[1], bought[2]],
                                "text": ["Always fresh, lovely", "Great, buy it every week",
                                         "Bland and watery, disappointing", "Fine"], "rating": [5, 5, 1, 3]})
        ws.import_files(engine, "partial", {S.CATALOG: ("catalog.csv", partial.to_csv(index=False).encode()),
                                            S.ORDERS: ("orders.csv", orders.to_csv(index=False).encode()),
                                            S.REVIEWS: ("reviews.csv", reviews.to_csv(index=False).encode())})
        engine.dispose()
        yield {"n_products": len(catalog), "n_blank": int((partial["category"] == "").sum()),
               "catalog": catalog, "reviewed": bought}


def _affinity(workspace):
    at = new_app()
    at.sidebar.selectbox(key="workspace").set_value(workspace).run()
    return open_page(at, "pages/affinity.py")


def _clusters(at) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "inferred_name" in d.value.columns)


def test_inferred_categories_shown_renamed_and_k_set_by_the_user(app_env):
    at = _affinity("nocat")
    assert "Inferred categories" in [s.value for s in at.subheader]
    criterion = next(c.value for c in at.caption if "How k was chosen" in c.value)
    assert "highest mean silhouette" in criterion and "k = 8..40" in criterion
    clusters = _clusters(at)
    assert clusters["size"].sum() == app_env["n_products"] and (clusters["size"] > 0).all()
    assert len(clusters) >= 8 and clusters["inferred_name"].str.len().gt(0).all()
    assert clusters["examples"].str.len().gt(0).all()
    # the pair table's categories are the inferred names
    pairs = next(d.value for d in at.dataframe if "antecedent_category" in d.value.columns)
    assert set(pairs["antecedent_category"]) <= set(clusters["name"])

    # rename cluster 0 and set k = 6: saved in the database, the graph rebuilt
    first = clusters.loc[clusters["cluster"] == 0, "inferred_name"].iloc[0]
    at.text_input(key="category_name_nocat").set_value("My first category")
    at.number_input(key="category_k_input_nocat").set_value(6)
    next(b for b in at.button if "Save" in b.label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    clusters = _clusters(at)
    assert len(clusters) == 6
    assert "set by the user" in next(c.value for c in at.caption if "How k was chosen" in c.value)

    from core.store import make_engine
    from core.store.category_choices import load_category_choices
    engine = make_engine(os.environ["DATABASE_URL"])
    choices = load_category_choices(engine, "nocat")
    engine.dispose()
    assert choices.k == 6 and choices.names == {first: "My first category"}
    # k = 6 gives other clusters; a name that is one of the new inferred names keeps its rename
    if first in set(clusters["inferred_name"]):
        assert "My first category" in set(clusters["name"])

    # rename again under k = 6, switch pages and come back: the name is still there
    first6 = clusters.loc[clusters["cluster"] == 0, "inferred_name"].iloc[0]
    at.text_input(key="category_name_nocat").set_value("Renamed six")
    next(b for b in at.button if "Save" in b.label).click().run()
    at.switch_page("pages/customers.py").run()
    at.switch_page("pages/affinity.py").run()
    assert not at.exception, [e.value for e in at.exception]
    clusters = _clusters(at)
    assert clusters.loc[clusters["inferred_name"] == first6, "name"].tolist() == ["Renamed six"]
    pairs = next(d.value for d in at.dataframe if "antecedent_category" in d.value.columns)
    assert set(pairs["antecedent_category"]) <= set(clusters["name"])
    assert any(b.label == "Download inferred categories (CSV)" for b in at.get("download_button"))


def test_partly_labelled_catalog_reports_held_out_accuracy(app_env):
    at = _affinity("partial")
    assert f"Uncategorised products: {app_env['n_blank']}" in [e.label for e in at.expander]
    assert "Held-out accuracy" not in [m.label for m in at.metric]        # off until asked
    at.checkbox(key="label_uncategorised_partial").check().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    acc = float(metrics["Held-out accuracy"].rstrip("%")) / 100
    base = float(metrics["Most-frequent-class baseline"].rstrip("%")) / 100
    assert 0 <= base < acc <= 1                  # the classifier beats always answering the largest class
    labelled = next(d.value for d in at.dataframe if "predicted_category" in d.value.columns)
    assert len(labelled) == app_env["n_blank"]
    known = set(app_env["catalog"]["category"]) - {""}
    assert set(labelled["predicted_category"]) <= known and labelled["confidence"].between(0, 1).all()


def test_review_signals_filter_pairs_and_show_in_the_table(app_env):
    at = _affinity("partial")
    table = next(d.value for d in at.dataframe if "antecedent_category" in d.value.columns)
    assert {"antecedent_rating", "consequent_rating", "antecedent_sentiment", "consequent_sentiment"} <= set(table)
    low = app_env["reviewed"][1]                                  # rated 1, "Bland and watery"
    ids = set(table["antecedent_id"]) | set(table["consequent_id"])
    assert low in ids
    rated = table[table["consequent_id"] == app_env["reviewed"][0]]
    assert (rated["consequent_rating"] == 5).all()
    at.slider(key="pair_min_rating").set_value(4.0).run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "antecedent_category" in d.value.columns)
    assert low not in set(table["antecedent_id"]) | set(table["consequent_id"])
    for side in ("antecedent", "consequent"):
        r = table[f"{side}_rating"]
        assert (r.isna() | (r >= 4)).all()                           # unreviewed products pass
    at.slider(key="pair_min_rating").set_value(1.0).run()
    at.slider(key="pair_min_sentiment").set_value(0.0).run()
    table = next(d.value for d in at.dataframe if "antecedent_category" in d.value.columns)
    assert low not in set(table["antecedent_id"]) | set(table["consequent_id"])   # negative reviews
    assert app_env["reviewed"][0] in set(table["antecedent_id"]) | set(table["consequent_id"])


# --- the network at 3,000 nodes (ui.charts; timing in bench/bench_graph.py) -------------------------

def _big_graph(n=3000, m=40000, seed=1):
    import networkx as nx
    import numpy as np

    rng = np.random.default_rng(seed)
    g = nx.Graph()
    g.add_nodes_from(f"N{i}" for i in range(n))
    while g.number_of_edges() < m:
        a = rng.zipf(1.6, size=m) % n
        b = rng.integers(0, n, size=m)
        g.add_edges_from((f"N{i}", f"N{j}", {"weight": 1.0}) for i, j in zip(a, b) if i != j)
    return g


def test_graph_layout_places_every_node_of_a_large_graph():
    import networkx as nx
    import numpy as np

    from ui.charts import graph_layout

    g = _big_graph()
    g.add_edge("island-a", "island-b")                     # a component without a best-connected node
    pos = graph_layout(g, seed=7)
    assert set(pos) == set(g.nodes())
    xy = np.array(list(pos.values()))
    assert np.isfinite(xy).all() and np.abs(xy).max() < 5
    assert np.hypot(*pos["island-a"]) == pytest.approx(1.2)   # on the outer ring
    assert graph_layout(g, seed=7) == pos                    # seeded: the same picture every time
    small = nx.path_graph(5)
    assert graph_layout(small, seed=3) == {k: tuple(map(float, v)) for k, v in
                                           nx.spring_layout(small, seed=3, iterations=60).items()}


def test_network_figure_one_line_trace_with_a_gap_per_edge_and_review_hover():
    import numpy as np

    from ui.charts import graph_layout, network_figure

    g = _big_graph(600, 5000)
    pos = graph_layout(g)
    cats = {n: f"c{int(n[1:]) % 5}" for n in g.nodes()}
    fig = network_figure(g, pos, cats, {n: f"title {n}" for n in g.nodes()},
                         node_info={n: "3 reviews · rating 4.0 · sentiment +0.50" for n in g.nodes()})
    lines = fig.data[0]
    x = np.asarray(lines.x, dtype=float)
    assert len(x) == 3 * g.number_of_edges() and np.isnan(x[2::3]).all() and np.isfinite(x[0::3]).all()
    a, b = next(iter(g.edges()))
    assert (x[0], x[1]) == (pos[a][0], pos[b][0])
    assert len(fig.data) == 1 + 5 and sum(len(t.x) for t in fig.data[1:]) == g.number_of_nodes()
    assert "customdata[3]" in fig.data[1].hovertemplate and "sentiment +0.50" in fig.data[1].customdata[0][3]
