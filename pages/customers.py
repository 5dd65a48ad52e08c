"""Customers: segments (RFM, profile clusters) for the whole shop; one customer's profile, history and
recommendations with reasons."""
import pandas as pd
import streamlit as st

from core.customers import (category_share_matrix, category_shares_over_time, cluster_customers, customer_analysis,
                            customer_profile, customer_summary)
from core.errors import CrossSellError
from core.recommend import MMR, STRATEGIES, CrossCategoryHybrid, HybridWeights
from ui import state
from ui.page import page_setup
from ui.charts import category_share_bar, md_escape, segment_bar, share_area
from ui.resources import compiled_rules, get_encoder, get_engine, shop_model, workspace_data

workspace = page_setup()
st.title("Customers")
try:
    model = shop_model(workspace, st.session_state[state.MIN_PAIR_COUNT], st.session_state[state.CATEGORY_LEVEL])
except CrossSellError as exc:
    st.warning(f"Nothing to analyse yet: {exc}. Upload data on the Data page.")
    st.stop()
data = workspace_data(workspace)


@st.cache_data(show_spinner=False, max_entries=4)
def _summary(fingerprint: str) -> pd.DataFrame:
    return customer_summary(data.orders)


@st.cache_data(show_spinner="Analysing customers…", max_entries=4)
def _analysis(fingerprint: str, level: int) -> pd.DataFrame:
    sentiment = None
    if len(data.reviews) and "customer_id" in data.reviews and data.reviews["customer_id"].notna().any():
        from core.sentiment import text_sentiment
        sentiment = text_sentiment(data.reviews["text"].tolist(), get_encoder(), engine=get_engine())
    return customer_analysis(data.orders, data.catalog, level, data.reviews if sentiment is not None else None,
                             sentiment)


@st.cache_data(show_spinner="Clustering customers by category shares…", max_entries=4)
def _clusters(fingerprint: str, level: int):
    shares = category_share_matrix(data.orders, data.catalog, level)
    if len(shares) < 3 or shares.shape[1] < 2:
        return None
    return cluster_customers(shares, k_range=(2, min(10, len(shares) - 1)))


@st.cache_data(show_spinner=False, max_entries=8)
def _shares_over_time(fingerprint: str, level: int, customer: str | None) -> pd.DataFrame:
    return category_shares_over_time(data.orders, data.catalog, level,
                                     customer_ids=None if customer is None else [customer])


summary = _summary(data.fingerprint)
if summary.empty:
    st.warning("No order line has a customer id, so there are no customers to analyse.")
    st.stop()
level = model.category_level
analysis = _analysis(data.fingerprint, level)
one, everyone = st.tabs(["One customer", "All customers: segments"])

with everyone:
    rfm_note = analysis.attrs.get("recency_unit", "")
    st.caption("RFM: recency, frequency and monetary value, each scored 1–5 by quintile (5 = most recent, most "
               "orders, most spent; Hughes 1994), and the usual segment names from the R and F scores. "
               + (f"Recency is measured in {rfm_note}. " if rfm_note else "")
               + ("Monetary value is unknown (no prices), so it does not enter the segments. "
                  if analysis["monetary"].isna().all() else ""))
    c1, c2 = st.columns([1, 1])
    with c1:
        st.plotly_chart(segment_bar(analysis), width="stretch", key="segments")
    with c2:
        seg = (analysis.groupby("segment", dropna=False)
               .agg(customers=("customer_id", "size"), recency=("recency", "median"),
                    frequency=("frequency", "median"), monetary=("monetary", "median"))
               .sort_values("customers", ascending=False).reset_index())
        st.dataframe(seg, hide_index=True, width="stretch",
                     column_config={"monetary": st.column_config.NumberColumn(format="%.2f")})
        st.caption("Medians per segment" + ("; monetary value is empty: this data has no prices."
                                              if seg["monetary"].isna().all() else "."))
    st.download_button("Download customer analysis (CSV: RFM, segment, price band, sentiment per customer)",
                       analysis.to_csv(index=False).encode(), file_name=f"customers_{workspace}.csv",
                       mime="text/csv")
    clusters = _clusters(data.fingerprint, level)
    if clusters is not None:
        st.markdown(f"**Profile clusters** — customers grouped by their category shares (KMeans, k = {clusters.k} by "
                    "the highest silhouette).")
        st.dataframe(clusters.profiles, hide_index=True, width="stretch")
        st.download_button("Download clusters (CSV)", clusters.profiles.to_csv(index=False).encode(),
                           file_name=f"customer_clusters_{workspace}.csv", mime="text/csv")
    over = _shares_over_time(data.fingerprint, level, None)
    if not over.empty:
        st.plotly_chart(share_area(over, "Category shares over time, all customers"), width="stretch",
                        key="shares_all")
        st.download_button("Download category shares over time (CSV)", over.to_csv(index=False).encode(),
                           file_name=f"category_shares_{workspace}.csv", mime="text/csv")

with one:
    search = st.text_input("Find a customer (id starts with)", key=state.CUSTOMER_SEARCH)
    options = summary[summary["customer_id"].astype(str).str.startswith(search.strip())] if search.strip() else summary
    if options.empty:
        st.info("No customer id starts with that.")
        st.stop()
    ids = options["customer_id"].astype(str).tolist()
    if st.session_state.get(state.CUSTOMER) not in ids:
        st.session_state[state.CUSTOMER] = ids[0]
    label = dict(zip(ids, (f"{c} · {o} orders, {p} products" for c, o, p in
                           zip(ids, options["orders"], options["products"]))))
    customer = st.selectbox(f"Customer ({len(ids):,})", ids, key=state.CUSTOMER, format_func=label.get)

    profile = customer_profile(customer, data.orders, data.catalog, model.category_level)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Orders", f"{profile.n_orders:,}")
    m2.metric("Order lines", f"{profile.n_lines:,}")
    m3.metric("Distinct products", f"{profile.n_products:,}")
    m4.metric("Last order", profile.last_order)
    row = analysis[analysis["customer_id"].astype(str) == str(customer)]
    if len(row):
        r = row.iloc[0]
        n1, n2, n3, n4 = st.columns(4)
        n1.metric("RFM segment", str(r["segment"]), help=f"R {r['R']}, F {r['F']}, M {r['M']} (1–5 quintile scores)")
        unit = analysis.attrs.get("recency_unit", "")
        recency_help = ("Days since their last order." if unit == "days" else
                        "No order dates in this data: recency counts the shop's orders placed since this "
                        "customer's last one.")
        n2.metric("Recency", (f"{r['recency']:,.0f} days" if unit == "days" else
                              f"{r['recency']:,.0f} shop orders ago") if pd.notna(r["recency"]) else "–",
                  help=recency_help)
        n3.metric("Typical unit price", "–" if pd.isna(r.get("price_median")) else
                  f"{r['price_p25']:,.2f}–{r['price_p75']:,.2f}",
                  help="Interquartile range of the unit prices this customer paid; "
                       f"position vs category medians: {r.get('price_position', '–')}.")
        if "mean_sentiment" in row and pd.notna(r.get("mean_sentiment")):
            n4.metric("Review sentiment", f"{r['mean_sentiment']:+.2f}", help=f"{int(r['reviews'])} reviews; "
                      "-1 negative … +1 positive (MiniLM + logistic regression trained on rated reviews)")
        else:
            n4.metric("Review sentiment", "–", help="No review by this customer.")

    left, right = st.columns([1, 1])
    with left:
        st.subheader("Category preferences")
        st.plotly_chart(category_share_bar(profile.category_shares), width="stretch", key="shares")
    with right:
        st.subheader("Purchase history")
        st.dataframe(profile.history, hide_index=True, width="stretch", height=330)
        st.download_button("Download history (CSV)", profile.history.to_csv(index=False).encode(),
                           file_name=f"history_{customer}.csv", mime="text/csv")
    mine = _shares_over_time(data.fingerprint, level, str(customer))
    if mine["period"].nunique() > 1:
        st.plotly_chart(share_area(mine, "This customer's category shares over time"), width="stretch",
                        key="shares_time")

    st.subheader("Recommendations")
    t1, t2, t3, t4 = st.columns([2, 1, 1, 1])
    strategy_name = t1.selectbox("Strategy", list(STRATEGIES), key=state.CUSTOMER_STRATEGY,
                                 help="The Evaluation page compares them on this shop's held-out orders.")
    k = t2.slider("How many", 1, 30, key=state.TOP_K)
    diverse = t3.toggle("Diversify categories (MMR)", key=state.MMR_ON,
                        help="Maximal marginal relevance re-ranking (Carbonell & Goldstein 1998) with a cap per category.")
    cap = t4.number_input("At most per category", 1, 30, key=state.MMR_CAP, disabled=not diverse)
    if strategy_name == CrossCategoryHybrid.name:
        with st.expander("Hybrid weights (defaults chosen on a validation split of the demo)"):
            s1, s2, s3 = st.columns(3)
            w_aff = s1.slider("Co-purchase affinity (cross-category)", 0.0, 3.0, step=0.05, key=state.W_AFFINITY)
            w_text = s2.slider("Text similarity (language model)", 0.0, 3.0, step=0.05, key=state.W_TEXT)
            w_pop = s3.slider("Popularity", 0.0, 3.0, step=0.05, key=state.W_POPULARITY)
            s4, s5, s6 = st.columns(3)
            w_cf = s4.slider("Collaborative profile (ALS)", 0.0, 3.0, step=0.05, key=state.W_COLLABORATIVE)
            w_co = s5.slider("Item co-occurrence (SAR)", 0.0, 3.0, step=0.05, key=state.W_COOCCURRENCE)
            w_un = s6.slider("Bonus: a category they never bought", 0.0, 1.0, step=0.05, key=state.W_UNSEEN)
            st.caption("With both collaborative weights at 0 only cross-category complements are shown (items "
                       "linked to a purchase of another category by co-purchases or text).")
        weights = (w_aff, w_text, w_pop, w_cf, w_co, w_un)
        if not any(weights):
            st.warning("Set at least one weight above zero.")
            st.stop()
        rec = CrossCategoryHybrid(HybridWeights(*weights))
    else:
        rec = STRATEGIES[strategy_name]()
    rec.fit(model)
    if diverse:
        rec.diversity = MMR(lam=0.7, max_per_category=int(cap))
    rec.rules = compiled_rules(workspace, model)
    if rec.rules is not None:
        st.caption(f"Rule set **{md_escape(rec.rules.name)}** is active ({md_escape(rec.rules.rules.summary())}); "
                   "change it on the Merchandising rules page.")
    recs = rec.recommend_frame([customer], k)
    if recs.empty:
        st.info("No recommendation for this customer with this strategy: nothing they bought has a partner in "
                "another category yet, or the rules leave nothing to show.")
        st.stop()
    recs.insert(3, "title", model.titles[model.item_index(recs["product_id"])])
    st.caption("Grouped by category; the numbers are the overall rank. Each reason names the purchase behind it and "
               "evidence you can check in the orders: how many baskets hold both items, their lift, how alike their "
               "texts read, and whether the category is new to this customer.")
    for cat, grp in recs.groupby("category", sort=False):
        with st.container(border=True):
            st.markdown(f"**{cat}**")
            for r in grp.itertuples(index=False):
                st.markdown(f"{r.rank}. **{md_escape(r.title)}** · score {r.score:.2f}")
                st.caption(md_escape(r.reason))
    st.download_button("Download recommendations (CSV)", recs.to_csv(index=False).encode(),
                       file_name=f"recommendations_{customer}.csv", mime="text/csv")
