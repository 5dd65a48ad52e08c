"""Evaluation: every strategy scored on the shop's own held-out orders, with 95% bootstrap intervals."""
import streamlit as st

from core import schema as S
from core.errors import CrossSellError
from core.evaluation.offline import METRICS, evaluate_strategies
from core.recommend import STRATEGIES
from ui import state
from ui.charts import metric_bars
from ui.page import page_setup, saved_result
from ui.resources import active_rules, held_out_arms, progress_bar, workspace_data

workspace = page_setup()
st.title("Evaluation")
st.caption("Each customer's last order is held out; every strategy is fitted on the earlier orders and recommends "
           "K items the customer has not bought. The held-out order is the truth. **new item** metrics count only "
           "held-out items the customer never bought before; **cross category** metrics only items from categories "
           "the customer never bought. Intervals: 95% percentile bootstrap over customers, the same resamples for "
           "every strategy. The active merchandising rule set (Merchandising rules page) is applied, as it is in the previews.")

st.session_state.setdefault(state.EVAL_STRATEGIES, list(STRATEGIES))
with st.form("evaluation"):
    c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
    chosen = c1.multiselect("Strategies", list(STRATEGIES), key=state.EVAL_STRATEGIES)
    k = c2.number_input("K (list length)", 1, 50, key=state.EVAL_K)
    level = c3.number_input("Category level for cross category", 1, 5, key=state.EVAL_LEVEL,
                            help="1 = department, 2 = aisle (when the category path has them).")
    n_boot = c4.number_input("Bootstrap resamples", 50, 5000, step=50, key=state.EVAL_BOOT)
    run = st.form_submit_button("Run evaluation", type="primary")

if run:
    if not chosen:
        st.error("Choose at least one strategy.")
    else:
        try:
            data = workspace_data(workspace)
            train, test, model, rules, strategies = held_out_arms(
                workspace, chosen, st.session_state[state.MIN_PAIR_COUNT], st.session_state[state.CATEGORY_LEVEL])
            bar, update = progress_bar("Evaluating")
            table = evaluate_strategies(model, test, strategies, k=int(k), n_boot=int(n_boot), seed=0,
                                        progress=update, category_level=int(level))
            bar.empty()
            st.session_state[state.EVAL_RESULT] = {
                "workspace": workspace, "fingerprint": data.fingerprint, "table": table,
                "rules": None if rules is None else rules.rules.summary(), "rules_name": None if rules is None
                else rules.name, "train_orders": train[S.ORDER_ID].nunique(),
                "customers": table.attrs.get("held_out_customers"), "seconds": table.attrs.get("seconds", {})}
        except CrossSellError as exc:
            st.error(f"Cannot evaluate: {exc}")

saved = saved_result(state.EVAL_RESULT, workspace,
                     "Choose the strategies, then press **Run evaluation** (the demo takes about a minute).")
rules_now = active_rules(workspace)
if (rules_now.name if rules_now else None) != saved["rules_name"]:
    st.warning("The active rule set changed since this evaluation; run again to score what customers see now.")
table = saved["table"]

m1, m2, m3 = st.columns(3)
m1.metric("Held-out customers", f"{saved['customers'] or 0:,}")
m2.metric("Training orders", f"{saved['train_orders']:,}")
m3.metric("Rules applied", saved["rules_name"] or "none", help=saved["rules"])
if (saved["customers"] or 0) < 100:
    st.warning("Fewer than 100 held-out customers: the intervals are wide; differences may not hold on more data.")

pick = st.multiselect("Metrics in the chart", list(METRICS), key=state.EVAL_CHART_METRICS)
if pick:
    st.plotly_chart(metric_bars(table, pick), width="stretch", key="eval_bars")

wide = table.pivot(index="strategy", columns="metric", values="value")[[m for m in METRICS if m in set(table["metric"])]]
best = {m: wide[m].idxmax() for m in wide.columns if m != "novelty"}
st.subheader("All metrics (value)")
st.dataframe(wide.reset_index(), hide_index=True, width="stretch",
             column_config={m: st.column_config.NumberColumn(format="%.4f") for m in wide.columns})
st.caption("Best per metric: " + "; ".join(f"{m}: {s}" for m, s in best.items()) + ". Novelty is in bits "
           "(higher = less popular items), coverage is the share of the catalog recommended to anyone.")
st.download_button("Download evaluation (CSV, one row per strategy and metric with its interval)",
                   table.to_csv(index=False).encode(), file_name="evaluation.csv", mime="text/csv")
with st.expander("Long table with intervals"):
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.4f") for c in ("value", "ci_low",
                                                                                          "ci_high")})
if saved["seconds"]:
    st.caption("Seconds to recommend for every held-out customer: " +
               ", ".join(f"{s} {t:.1f}" for s, t in saved["seconds"].items()))
