"""AppTests of the Rules and Evaluation pages, and of a rule set reaching every page alike (issue 5 item 2).

Real SQLite file, real MiniLM model, the tests/fixtures/instacart_small workspace as the demo.
"""
import pytest
from apptest_env import app_environment, new_app, open_page


@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    with app_environment(tmp_path_factory.mktemp("apptest_rules") / "app.sqlite") as db:
        yield db


_app, _open = new_app, open_page


def _engine():
    from ui.resources import get_engine
    return get_engine()


def _recommended(at):
    """(titles in rank order, reasons) of the Customers page's slate."""
    titles, reasons = [], []
    lines = [m.value for m in at.markdown if m.value[:1].isdigit() and ". **" in m.value]
    for line in lines:
        titles.append(line.split(". **", 1)[1].split("**", 1)[0])
    reasons = [c.value for c in at.caption if "bought" in c.value or "pinned" in c.value]
    return titles, reasons


def test_evaluation_page_compares_every_strategy_with_intervals(app_env):
    from core.recommend import STRATEGIES
    at = _open(_app(), "pages/evaluation.py")
    at.number_input(key="eval_boot").set_value(100)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    wide = at.dataframe[0].value
    assert sorted(wide["strategy"]) == sorted(STRATEGIES)
    assert {"recall", "ndcg", "new_item_ndcg", "cross_category_recall", "coverage", "novelty"} <= set(wide.columns)
    long = at.session_state["eval_result"]["table"]
    rates = long[long["metric"] != "novelty"]
    assert ((rates["ci_low"] <= rates["value"] + 1e-12) & (rates["value"] <= rates["ci_high"] + 1e-12)).all()
    assert ((rates["value"] >= 0) & (rates["value"] <= 1)).all()
    assert len(at.get("plotly_chart")) == 1
    assert {m.label: m.value for m in at.metric}["Rules applied"] == "none"


def test_a_rule_set_changes_customers_evaluation_and_experiments_alike(app_env):
    from core.rules import RuleSet
    from core.store.rules import save_rule_set, set_active_rule_set
    from ui.resources import workspace_data

    at = _open(_app(), "pages/customers.py")
    customer = at.selectbox(key="customer").value
    before, _ = _recommended(at)
    assert before
    data = workspace_data("demo")
    bought = set(data.orders.loc[data.orders["customer_id"].astype(str) == str(customer), "product_id"].astype(str))
    cat = data.catalog.set_index("product_id")
    # pin a product this customer never bought, from a department we do not exclude
    pin = next(p for p in cat.index[::-1] if p not in bought and not str(cat.at[p, "category"]).startswith("produce"))
    excluded = "produce"
    save_rule_set(_engine(), "demo", RuleSet("summer", pins=[(pin, 1)], exclude_categories=[excluded]))
    set_active_rule_set(_engine(), "demo", "summer")

    # Customers: the pin is first with its reason; nothing from the excluded department
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    after, reasons = _recommended(at)
    assert after[0] == cat.at[pin, "title"]
    assert any("pinned at position 1" in r and "summer" in r for r in reasons), reasons
    recs = at.session_state  # the page's download holds the categories
    shown = [t for t in after]
    titles_in_produce = set(cat.loc[cat["category"].astype(str).str.startswith(excluded), "title"])
    assert not (set(shown) & titles_in_produce)
    assert after != before

    # Rules page: shows the active set and what it excludes
    _open(at, "pages/rules.py")
    assert at.radio(key="active_rules_demo").value == "summer"
    assert any("Excluded everywhere" in m.value for m in at.markdown)

    # Evaluation: run with the rules; it says so and scores differ from a run without
    _open(at, "pages/evaluation.py")
    at.number_input(key="eval_boot").set_value(100)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Rules applied"] == "summer"

    # Experiments: the arms carry the rule set too
    _open(at, "pages/experiments.py")
    at.number_input(key="exp_horizon").set_value(300)
    at.number_input(key="exp_replicates").set_value(2)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("summer" in c.value for c in at.caption)
    set_active_rule_set(_engine(), "demo", None)


def test_customers_page_shows_segments_clusters_and_rfm(app_env):
    at = _open(_app(), "pages/customers.py")
    metrics = {m.label: m.value for m in at.metric}
    segments = {"Champions", "Loyal", "Potential loyalists", "New", "Promising", "Need attention", "About to sleep",
                "Can't lose them", "At risk", "Hibernating"}
    assert metrics["RFM segment"] in segments
    assert metrics["Recency"].endswith("shop orders ago")  # the fixture has order numbers, no dates
    tables = [d.value for d in at.dataframe]
    seg = next(t for t in tables if "segment" in t.columns and "customers" in t.columns)
    assert seg["customers"].sum() == 60  # tests/fixtures/instacart_small: 60 customers, each in one segment
    assert set(seg["segment"].dropna()) <= segments
    clusters = next(t for t in tables if "top_categories" in t.columns)
    assert clusters["customers"].sum() == 60 and len(clusters) >= 2
    labels = [b.label for b in at.get("download_button")]
    assert any("customer analysis" in lab for lab in labels) and any("clusters" in lab for lab in labels)


def test_experiments_with_a_segment_context_compare_pooled_and_per_segment(app_env):
    at = _open(_app(), "pages/experiments.py")
    at.number_input(key="exp_horizon").set_value(300)
    at.number_input(key="exp_replicates").set_value(2)
    at.selectbox(key="exp_context").set_value("RFM segment")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Per segment: RFM segment" in [s.value for s in at.subheader]
    seg_arms = next(d.value for d in at.dataframe if "segment" in d.value.columns and "best" in d.value.columns)
    assert (seg_arms.groupby("segment")["best"].sum() == 1).all()  # one best arm per segment
    assert seg_arms.groupby("segment")["customers"].first().sum() <= 60
    summary = next(d.value for d in at.dataframe if "variant" in d.value.columns)
    assert set(summary["variant"]) == {"pooled", "per segment"}
    assert (summary["segment_regret"] >= -1e-9).all()


def test_affinity_page_runs_the_held_out_complement_check(app_env):
    from core.evaluation.complement_eval import METHODS, SLICES
    at = _open(_app(), "pages/affinity.py")
    at.button(key="run_complement_eval").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.session_state["complement_eval"]["table"]
    assert set(zip(table["method"], table["slice"])) == {(m, s) for m in METHODS for s in SLICES}
    shown = next(d.value for d in at.dataframe if "recall_at_10" in d.value.columns)
    assert len(shown) == len(METHODS) * len(SLICES)
    assert any("complement check" in b.label for b in at.get("download_button"))
    # the result survives a page switch
    _open(at, "pages/customers.py")
    _open(at, "pages/affinity.py")
    assert any("recall_at_10" in d.value.columns for d in at.dataframe)
