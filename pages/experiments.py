"""Experiments: simulated A/B tuning of recommendation strategies on held-out orders."""
import streamlit as st

from core import schema as S
from core.bandits import POLICIES, two_proportion_z_test
from core.errors import CrossSellError
from core.customers import customer_segments
from core.experiments import ExperimentSettings, run_experiment
from core.recommend import STRATEGIES
from ui import state
from ui.page import page_setup, saved_result
from ui.charts import arm_rates_bar, policy_lines, segment_regret_lines, traffic_area
from ui.resources import held_out_arms, progress_bar, workspace_data

DEFAULT_ARMS = ("popular overall", "item co-occurrence (SAR)", "ALS (implicit)", "hybrid")
CONTEXTS = {"none (one bandit for everyone)": None, "RFM segment": "rfm", "profile cluster": "cluster"}


workspace = page_setup()
st.title("Experiments")
st.caption("Each customer's last order is held out. Every strategy (arm) is fitted on the earlier orders; a simulated "
           "visit is a held-out customer drawn at random, and it converts when the strategy's slate contains an item "
           "of that held-out order. Bandit policies then decide which arm each visit sees. Regret is measured against "
           "the arms' true held-out conversion rates, never against realised rewards.")

# four arms by default: the simplest baseline, the two established peers, and ours
st.session_state.setdefault(state.EXP_ARMS, [a for a in DEFAULT_ARMS if a in STRATEGIES])
st.session_state.setdefault(state.EXP_POLICIES, list(POLICIES))
with st.form("experiment"):
    c1, c2 = st.columns(2)
    arms = c1.multiselect("Strategies (arms)", list(STRATEGIES), key=state.EXP_ARMS)
    policies = c2.multiselect("Policies", list(POLICIES), key=state.EXP_POLICIES)
    d1, d2, d3, d4, d5 = st.columns(5)
    horizon = d1.number_input("Visits (horizon)", 100, 100_000, step=500, key=state.EXP_HORIZON)
    replicates = d2.number_input("Replicates", 1, 200, key=state.EXP_REPLICATES)
    seed = d3.number_input("Seed", 0, 2**31 - 1, key=state.EXP_SEED)
    slate = d4.number_input("Slate size (k)", 1, 50, key=state.EXP_SLATE)
    eps = d5.number_input("Epsilon (ε-greedy)", 0.0, 1.0, step=0.05, key=state.EXP_EPSILON)
    context = st.selectbox("Customer context", list(CONTEXTS), key=state.EXP_CONTEXT,
                           help="With a context, each policy also runs as one independent bandit per segment "
                                "(a contextual bandit over a discrete context) and is compared with the pooled one.")
    run = st.form_submit_button("Run experiment", type="primary")

if run:
    if len(arms) < 2 or not policies:
        st.error("Choose at least two strategies and one policy.")
    else:
        try:
            data = workspace_data(workspace)
            train, test, model, rules, arm_strategies = held_out_arms(
                workspace, arms, st.session_state[state.MIN_PAIR_COUNT], st.session_state[state.CATEGORY_LEVEL])
            strategies = [s.fit(model) for s in arm_strategies.values()]
            settings = ExperimentSettings(int(horizon), int(replicates), int(seed), int(slate), float(eps),
                                          tuple(policies))
            # segments from the training orders only: the held-out order never shapes its own context
            segments = (customer_segments(train, data.catalog, by=CONTEXTS[context],
                                          level=st.session_state[state.CATEGORY_LEVEL])
                        if CONTEXTS[context] else None)
            bar, update = progress_bar("Running the experiment")
            result = run_experiment(strategies, test, settings, progress=update, segments=segments)
            bar.empty()
            st.session_state[state.EXP_RESULT] = {"workspace": workspace, "fingerprint": data.fingerprint,
                                                  "result": result, "context": context, "rules": None if rules is None else rules.name,
                                                  "train_orders": train[S.ORDER_ID].nunique(),
                                                  "test_orders": test[S.ORDER_ID].nunique()}
        except CrossSellError as exc:
            st.error(f"Cannot run the experiment: {exc}")

saved = saved_result(state.EXP_RESULT, workspace, "Set the strategies and policies, then press **Run experiment**.")
result = saved["result"]
st.caption(f"Merchandising rule set applied to every arm: **{saved['rules']}**." if saved.get("rules") else
           "No merchandising rule set was active (Merchandising rules page).")

st.subheader("Ground truth: held-out conversion per strategy")
m1, m2, m3 = st.columns(3)
m1.metric("Held-out customers", f"{len(result.hits):,}")
m2.metric("Training orders", f"{saved['train_orders']:,}")
ranked = result.arms.sort_values(["rate", "arm"], ascending=[False, True], kind="stable").reset_index(drop=True)
tie = len(ranked) > 1 and ranked.loc[0, "rate"] == ranked.loc[1, "rate"]
m3.metric("Best strategy", "tie" if tie else ranked.loc[0, "arm"])
if len(result.hits) < 100:
    st.warning(f"Only {len(result.hits):,} held-out customers: the intervals below are wide and the ranking of "
               "strategies may not hold on more data.")
st.plotly_chart(arm_rates_bar(result.arms), width="stretch", key="arm_rates")
arms_table = result.arms.rename(columns={"rate": "conversion"})
st.dataframe(arms_table, hide_index=True, width="stretch",
             column_config={c: st.column_config.NumberColumn(format="%.4f") for c in ("conversion", "ci_low", "ci_high")})
st.download_button("Download held-out conversion per arm (CSV)", arms_table.to_csv(index=False).encode(),
                   file_name="experiment_arms.csv", mime="text/csv")
if len(ranked) >= 2:
    a, b = ranked.iloc[0], ranked.iloc[1]
    z, pval = two_proportion_z_test(int(a.conversions), int(a.customers), int(b.conversions), int(b.customers))
    st.caption(f"Best vs runner-up on the held-out customers: {a.arm} {a.rate:.2%} vs {b.arm} {b.rate:.2%}, "
               f"two-proportion z = {z:.2f}, p = {pval:.3g}. Both arms are scored on the same customers, so this "
               "test is conservative rather than exact.")

st.subheader("Policies compared")
left, right = st.columns(2)
left.plotly_chart(policy_lines(result.curves("cumulative_reward"), "cumulative_reward", "Cumulative conversions"),
                  width="stretch", key="cum_reward")
right.plotly_chart(policy_lines(result.curves("regret"), "regret", "Cumulative regret (from true rates)"),
                   width="stretch", key="regret")
summary = result.summary()
st.dataframe(summary, hide_index=True, width="stretch")
st.download_button("Download policy summary (CSV)", summary.to_csv(index=False).encode(),
                   file_name="experiment_policies.csv", mime="text/csv")

st.subheader("Traffic share over time")
which = st.selectbox("Policy", list(result.runs), index=len(result.runs) - 1)
st.plotly_chart(traffic_area(result.traffic(which), f"Share of visits per strategy: {which}"), width="stretch",
                key="traffic")
tables = result.policy_tables()
st.dataframe(tables, hide_index=True, width="stretch")
st.caption("Realised conversion per arm with Wilson 95% intervals, pooled over replicates. Under an adaptive "
           "policy the traffic per arm depends on earlier rewards, so these intervals are indicative only; the "
           "held-out table above is the honest comparison.")
st.download_button("Download conversion per policy and arm (CSV)", tables.to_csv(index=False).encode(),
                   file_name="experiment_policy_arms.csv", mime="text/csv")

if result.has_segments:
    st.subheader(f"Per segment: {saved.get('context', 'segments')}")
    st.caption("Held-out conversion of each arm within each segment (Wilson 95% intervals), and each policy run "
               "pooled (one bandit for everyone) against per segment (one bandit per segment) on the same visits. "
               "Regret here is against the per-segment oracle: every visitor shown their segment's best arm.")
    seg_arms = result.segment_arms
    st.dataframe(seg_arms, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.4f") for c in ("rate", "ci_low",
                                                                                           "ci_high")})
    st.download_button("Download conversion per segment and arm (CSV)", seg_arms.to_csv(index=False).encode(),
                       file_name="experiment_segments.csv", mime="text/csv")
    st.plotly_chart(segment_regret_lines(result.segment_curves()), width="stretch", key="segment_regret")
    seg_sum = result.segment_summary()
    st.dataframe(seg_sum, hide_index=True, width="stretch")
    st.download_button("Download pooled vs per-segment summary (CSV)", seg_sum.to_csv(index=False).encode(),
                       file_name="experiment_segment_summary.csv", mime="text/csv")
