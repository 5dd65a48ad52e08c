"""Affinity graph: which categories and items are bought together, and how strongly."""
import networkx as nx
import numpy as np
import pandas as pd
import streamlit as st

from core.affinity import affinity_graph
from core.errors import CrossSellError
from core.explain import neighbours, pair_details
from core.pipeline import category_pairs_table, item_pairs_table
from ui import state
from ui.page import page_setup
from ui.charts import complement_recall_bars, graph_layout, lift_heatmap, md_escape, network_figure
from core.store.category_choices import CategoryChoices, load_category_choices, save_category_choices
from ui.resources import get_engine, shop_model, workspace_data

workspace = page_setup()
st.title("Affinity graph")
st.caption("Co-purchase statistics (support, confidence, lift) joined with a language model's reading of the "
           "product text. Affinity = w·NPMI⁺ + (1 − w)·0.5·similarity⁺ with w = baskets together / (baskets together "
           "+ 5): evidence decides where it is rich, the text where it is thin.")

c1, c2 = st.columns(2)
c1.number_input("Minimum baskets holding a pair", min_value=1, max_value=1000, step=1, key=state.MIN_PAIR_COUNT,
                help="Pairs seen in fewer baskets are dropped: a pair seen once has a meaningless lift.")
paths = workspace_data(workspace).catalog.get("category")
depth = int(paths.dropna().astype(str).str.count(">").max() + 1) if paths is not None and paths.notna().any() else 1
levels = list(range(1, max(depth, 1) + 1))
if st.session_state.get(state.CATEGORY_LEVEL) not in levels:
    st.session_state[state.CATEGORY_LEVEL] = 1
c2.selectbox("Category level", levels, key=state.CATEGORY_LEVEL,
             format_func=lambda v: f"{v} (top level, e.g. department)" if v == 1 else f"{v} (e.g. aisle)" if v == 2
             else str(v), help="The level of the category path that counts as 'another category'.")
try:
    model = shop_model(workspace, st.session_state[state.MIN_PAIR_COUNT], st.session_state[state.CATEGORY_LEVEL])
except CrossSellError as exc:
    st.warning(f"Nothing to analyse yet: {exc}. Upload data on the Data page.")
    st.stop()

pairs = model.pairs
cross = pairs[pairs["antecedent_category"] != pairs["consequent_category"]]
m1, m2, m3, m4 = st.columns(4)
m1.metric("Baskets", f"{model.baskets.n_baskets:,}")
m2.metric("Products bought", f"{int((model.item_counts > 0).sum()):,}")
m3.metric("Item pairs (both directions)", f"{len(pairs):,}")
m4.metric("Cross-category pairs", f"{len(cross):,}")

def _label_uncategorised(engine, choices, n_missing: int) -> None:
    """The classifier for the uncategorised products of a partly labelled catalog, and its held-out scores."""
    want = st.checkbox(f"Label the {n_missing:,} uncategorised products with a classifier trained on the "
                       "categorised ones", value=choices.label_uncategorised,
                       key=f"{state.LABEL_UNCATEGORISED}_{workspace}",
                       help="Logistic regression on the language model's vectors; its accuracy is measured on "
                            "a held-out part of the categorised products.")
    if want != choices.label_uncategorised:
        save_category_choices(engine, workspace, CategoryChoices(k=choices.k, names=dict(choices.names),
                                                                 label_uncategorised=want))
        st.rerun()
    lab = model.category_labelling
    if lab is not None:
        a1, a2, a3 = st.columns(3)
        a1.metric("Held-out accuracy", f"{lab.accuracy:.1%}")
        a2.metric("Macro-F1", f"{lab.macro_f1:.2f}")
        a3.metric("Most-frequent-class baseline", f"{lab.baseline_accuracy:.1%}")
        st.caption(lab.method)
        done = np.flatnonzero(lab.predicted)
        labelled = pd.DataFrame({"product_id": model.item_ids[done], "title": model.titles[done],
                                 "predicted_category": lab.labels[done], "confidence": lab.confidence[done]})
        st.dataframe(labelled, hide_index=True, width="stretch")
        st.download_button("Download the labelled products (CSV)", labelled.to_csv(index=False).encode(),
                           file_name=f"labelled_products_{workspace}.csv", mime="text/csv")
        st.download_button("Download held-out scores per category (CSV)",
                           lab.per_class.reset_index().to_csv(index=False).encode(),
                           file_name=f"labelling_per_category_{workspace}.csv", mime="text/csv")


def _category_section() -> None:
    """Inferred categories (a catalog without any) or the classifier's labels (a partly labelled one)."""
    engine = get_engine()
    choices = load_category_choices(engine, workspace)
    catalog_paths = workspace_data(workspace).catalog.get("category")
    n_missing = int(catalog_paths.isna().sum() + (catalog_paths.dropna().astype(str).str.strip() == "").sum()) \
        if catalog_paths is not None else model.n_items
    if model.category_note:
        st.info(model.category_note)
    if model.category_source == "inferred":
        inf, clusters = model.category_inference, model.category_clusters
        st.subheader("Inferred categories")
        st.caption(f"The catalog has no categories, so they were inferred from the product titles: the language "
                   f"model's title vectors clustered with k-means, each cluster named by its most distinctive words "
                   f"(class-based TF-IDF). How k was chosen: {inf.criterion}.")
        st.dataframe(clusters[["cluster", "name", "inferred_name", "size", "coverage", "top_terms", "examples"]],
                     hide_index=True, width="stretch",
                     column_config={"coverage": st.column_config.NumberColumn(format="%.2f", help=(
                         "Share of the cluster's products whose title holds a word of its inferred name; "
                         "low = a mixed cluster"))})
        with st.form("category_form"):
            f1, f2, f3 = st.columns([2, 2, 1])
            cid = f1.selectbox("Rename category", clusters["cluster"].tolist(), key=f"category_pick_{workspace}",
                               format_func=lambda c: f"{c}: {clusters.loc[clusters['cluster'] == c, 'name'].iloc[0]}")
            new_name = f2.text_input("New name (empty: unchanged; the inferred name undoes a rename)",
                                     key=f"category_name_{workspace}",
                                     help="Two categories given one name read as one; 'Home > Candles' makes levels.")
            k_in = f3.number_input("Categories k (0: by silhouette)", min_value=0,
                                   max_value=max(2, min(200, model.n_items - 1)), value=int(choices.k or 0), step=1,
                                   key=f"{state.CATEGORY_K_INPUT}_{workspace}",
                                   help="Silhouette on text vectors is low and mostly grows with k: treat the "
                                        "chosen k as a starting point.")
            saved = st.form_submit_button("Save (rebuilds the graph)")
        if saved:
            names = dict(choices.names)
            row = clusters[clusters["cluster"] == cid]
            if len(row) and new_name is not None:
                inferred = str(row["inferred_name"].iloc[0])
                name = new_name.strip()
                if name and name != inferred:
                    names[inferred] = name
                elif name == inferred:
                    names.pop(inferred, None)
            save_category_choices(engine, workspace, CategoryChoices(
                k=int(k_in) if int(k_in) >= 2 else None, names=names,
                label_uncategorised=choices.label_uncategorised))
            st.rerun()
        st.download_button("Download inferred categories (CSV)", clusters.to_csv(index=False).encode(),
                           file_name=f"inferred_categories_{workspace}.csv", mime="text/csv")
        with st.expander("Silhouette per k"):
            st.dataframe(inf.silhouette, hide_index=True, width="stretch")
            st.download_button("Download silhouette per k (CSV)", inf.silhouette.to_csv(index=False).encode(),
                               file_name=f"silhouette_{workspace}.csv", mime="text/csv")
    elif 0 < n_missing < model.n_items:
        # an expander, not a section: a few uncategorised products (the demo has 12) should not crowd the page
        with st.expander(f"Uncategorised products: {n_missing:,}", expanded=model.category_labelling is not None):
            _label_uncategorised(engine, choices, n_missing)


_category_section()

st.subheader("Category × category lift")
st.caption("Red: bought together more often than chance (lift > 1); blue: less often. Hover for the figures.")
cp = category_pairs_table(model)
st.plotly_chart(lift_heatmap(model.category_pairs), width="stretch", key="heatmap")
st.download_button("Download category pairs (CSV)", cp.to_csv(index=False).encode(),
                   file_name=f"category_pairs_{workspace}.csv", mime="text/csv")

st.subheader("Top cross-category item pairs")
cats = sorted(set(cross["antecedent_category"]) | set(cross["consequent_category"]))
st.session_state[state.PAIR_CATEGORIES] = [c for c in st.session_state.get(state.PAIR_CATEGORIES, []) if c in cats]
f1, f2, f3, f4, f5 = st.columns([2, 1, 1, 1, 1])
chosen = f1.multiselect("Categories (either side)", cats, key=state.PAIR_CATEGORIES,
                        placeholder="all categories")
min_lift = f2.number_input("Minimum lift", min_value=0.0, step=0.5, key=state.PAIR_MIN_LIFT)
search = f3.text_input("Product contains", key=state.PAIR_SEARCH)
has_q = "q_value" in cross.columns
min_customers = f4.number_input(
    "Minimum customers", min_value=1, step=1, key=state.PAIR_MIN_CUSTOMERS,
    help="Distinct customers with a basket holding both. A pair bought 40 times by one shopper is one "
         "person's habit, not a pattern.")
significant = f5.checkbox("Significant only", key=state.PAIR_SIGNIFICANT, disabled=not has_q,
                          help="One-sided Fisher exact test for positive association, Benjamini–Hochberg "
                               "corrected across all pairs: keep pairs with q < 0.05.")
rv = model.item_reviews
if rv is not None:
    g1, g2, _ = st.columns([1, 1, 2])
    min_rating = g1.slider("Minimum mean rating (both products)", 1.0, 5.0, step=0.5, key=state.PAIR_MIN_RATING,
                           help="Mean star rating of each product's reviews; products without reviews pass.")
    min_sentiment = g2.slider("Minimum review sentiment (both products)", -1.0, 1.0, step=0.1,
                              key=state.PAIR_MIN_SENTIMENT,
                              help="Mean sentiment of each product's reviews, -1 (negative) to 1 (positive), read "
                                   "by a classifier on the language model's vectors trained on ratings; products "
                                   "without reviews pass.")
view = cross[cross["lift"] >= min_lift]
if rv is not None:
    for col, low, floor in (("mean_rating", min_rating, 1.0), ("mean_sentiment", min_sentiment, -1.0)):
        if low > floor:
            vals = rv[col].to_numpy()
            ok = np.isnan(vals) | (vals >= low)
            view = view[ok[view["antecedent"].to_numpy()] & ok[view["consequent"].to_numpy()]]
    view = view.assign(**{f"{side}_{name}": rv[col].to_numpy()[view[side].to_numpy()]
                          for side in ("antecedent", "consequent")
                          for name, col in (("rating", "mean_rating"), ("sentiment", "mean_sentiment"))})
if "customers" in view.columns and min_customers > 1:
    view = view[view["customers"] >= min_customers]
if significant and has_q:
    view = view[view["q_value"] < 0.05]
if chosen:
    view = view[view["antecedent_category"].isin(chosen) | view["consequent_category"].isin(chosen)]
if search:
    s = search.lower()
    view = view[view["antecedent_title"].str.lower().str.contains(s, regex=False)
                | view["consequent_title"].str.lower().str.contains(s, regex=False)]
view = view.sort_values("affinity", ascending=False)
cols = ["antecedent_title", "antecedent_category", "consequent_title", "consequent_category", "pair_count",
        "customers", "support", "confidence", "lift", "similarity", "affinity", "antecedent_id", "consequent_id"]
cols = [c for c in cols if c in view.columns]
cols += [c for c in ("antecedent_rating", "antecedent_sentiment", "consequent_rating", "consequent_sentiment",
                     "leverage", "conviction", "conviction_infinite", "jaccard", "npmi", "p_value", "q_value")
         if c in view.columns]
table = view[cols].head(2000).reset_index(drop=True)
table.attrs = {}  # the basket-size report rides on the pairs' attrs; Streamlit cannot serialise it (and need not)
picked = st.dataframe(table, hide_index=True, width="stretch", height=380, key="pair_table",
             on_select="rerun", selection_mode="single-row",
             column_config={"support": st.column_config.NumberColumn(format="%.5f"),
                            "confidence": st.column_config.NumberColumn(format="%.3f"),
                            "lift": st.column_config.NumberColumn(format="%.2f"),
                            "similarity": st.column_config.NumberColumn(format="%.2f"),
                            "affinity": st.column_config.NumberColumn(format="%.3f")})
st.caption(f"{len(view):,} directed pairs match (first 2,000 shown; the download has all). "
           "Select a row to see the evidence behind it.")
rows = picked.selection.rows if picked is not None else []
if rows:
    r = table.iloc[rows[0]]
    d = pair_details(model, r["antecedent_id"], r["consequent_id"], workspace_data(workspace).reviews)
    with st.container(border=True):
        st.markdown(f"**{md_escape(r['antecedent_title'])}** → **{md_escape(r['consequent_title'])}**")
        st.write(d.reason)
        k1, k5, k2, k3, k4 = st.columns(5)
        k1.metric("Baskets with both", f"{int(r['pair_count']):,}")
        if "customers" in r:
            k5.metric("Customers", f"{int(r['customers']):,}", help="Distinct customers with a basket holding both")
        k2.metric("Confidence", f"{r['confidence']:.1%}")
        k3.metric("Lift", f"{r['lift']:.2f}")
        k4.metric("Text similarity", f"{d.similarity:.2f}")
        for pid, sig in d.review_signals.items():
            if sig["reviews"]:
                title = model.titles[model.item_index([pid])[0]]
                st.caption(f"{md_escape(title)}: {sig['reviews']:,} reviews, mean rating "
                           + (f"{sig['mean_rating']:.1f}" if np.isfinite(sig["mean_rating"]) else "n/a")
                           + ", review sentiment "
                           + (f"{sig['mean_sentiment']:+.2f}" if np.isfinite(sig["mean_sentiment"]) else "n/a"))
        st.caption("Example baskets holding both")
        st.dataframe(d.example_baskets, hide_index=True, width="stretch")
        for pid, texts in d.review_snippets.items():
            for t in texts:
                st.caption(f"Review of {md_escape(pid)}: {md_escape(t[:300])}")
st.download_button("Download these pairs (CSV)", view[cols].to_csv(index=False).encode(),
                   file_name=f"item_pairs_{workspace}.csv", mime="text/csv")

st.subheader("Network of the strongest cross-category links")
top = item_pairs_table(model, cross_only=True)
top = top[top["antecedent_id"].astype(str) < top["consequent_id"].astype(str)]  # one edge per pair
st.session_state[state.GRAPH_EDGES] = min(st.session_state[state.GRAPH_EDGES], max(len(top), 1))
n_edges = st.slider("Edges shown (strongest first)", 1, max(2, min(len(top), 40000)), key=state.GRAPH_EDGES,
                    help="Drawn as one WebGL trace; the layout is computed once per edge selection and reused "
                         "(above 400 products: force-directed on the 400 best connected, the rest placed next to "
                         "their partners).")


@st.cache_data(show_spinner="Laying out the graph…", max_entries=8)
def _layout(fingerprint: str, edges: tuple) -> dict:
    g = nx.Graph()
    g.add_edges_from(edges)
    return graph_layout(g, seed=7, iterations=60)


graph = affinity_graph(top, weight="affinity", top_n=int(n_edges))
positions = _layout(f"{id(model)}", tuple(sorted(graph.edges())))
idx = model.item_index(list(graph.nodes()))
st.caption(f"Showing {graph.number_of_edges():,} of {len(top):,} cross-category links. Click a product to list its "
           "partners.")
info = None
if rv is not None:
    sub = rv.iloc[idx]
    info = {n: (f"{k:,} reviews · rating {r:.1f} · sentiment {s_:+.2f}" if k else "no reviews").replace("nan", "n/a")
            for n, k, r, s_ in zip(graph.nodes(), sub["reviews"], sub["mean_rating"], sub["mean_sentiment"])}
event = st.plotly_chart(network_figure(graph, positions, dict(zip(graph.nodes(), model.categories[idx])),
                                       dict(zip(graph.nodes(), model.titles[idx])), node_info=info),
                        width="stretch", key="network",
                        on_select="rerun", selection_mode="points")
points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
    (event.selection.points if event is not None else [])
clicked = [p["customdata"][1] for p in points if p.get("customdata")]
if clicked:
    node = str(clicked[0])
    st.markdown(f"**Partners of {md_escape(model.titles[model.item_index([node])[0]])}** (other categories)")
    nb = neighbours(model, node)
    st.dataframe(nb, hide_index=True, width="stretch")
    st.download_button("Download these partners (CSV)", nb.to_csv(index=False).encode(),
                       file_name=f"partners_{node}.csv", mime="text/csv")
deg = sorted(graph.degree(weight="weight"), key=lambda x: -x[1])[:15]
st.caption(f"{graph.number_of_nodes():,} products, {graph.number_of_edges():,} links. Best connected: "
           + ", ".join(f"{model.titles[model.item_index([n])[0]]}" for n, _ in deg[:5]))

# ---- held-out check of the complements (issue 4) -------------------------------------------------------------
st.subheader("Do the complements hold up? Held-out check")
st.caption("Each customer's last order is held out. For every item of a held-out basket that spans categories, each "
           "method ranks the items of the other categories; a hit is an item of that basket. Slices: **all** "
           "(items seen in training), **cold** (in 1–4 training baskets), **new** (in none: only text and category "
           "speak). Methods: popularity, co-occurrence (with and without the popularity prior), lift, raw text "
           "cosine, the complement model trained on this shop's own co-purchases, and the blend (weights chosen on "
           "a validation order carved from the training period). Same as `python -m core build`'s "
           "complement_eval.csv.")
saved_eval = st.session_state.get(state.COMPLEMENT_EVAL)
data_fp = workspace_data(workspace).fingerprint
if model.embeddings is None:
    st.info("The complement check needs the language model (text is switched off for this build).")
elif st.button("Run the held-out check (a few minutes on the demo)", key="run_complement_eval"):
    from core.errors import EmptyDataError
    from core.evaluation.complement_eval import complement_eval_table
    data = workspace_data(workspace)
    cat = (data.catalog.drop_duplicates("product_id").set_index("product_id")
           .reindex(pd.Index(model.item_ids, name="product_id")).reset_index())
    bar = st.progress(0.0, text="Held-out complement check: splitting, fitting the complement model, scoring")
    steps = []

    def _log(msg: str) -> None:
        steps.append(msg)
        bar.progress(min(0.95, 0.2 * len(steps)), text=f"Held-out complement check: {msg}")
    try:
        table = complement_eval_table(cat, data.orders, model.embeddings, log=_log)
    except EmptyDataError as exc:
        st.warning(f"Cannot run the check on this workspace: {exc}")
    else:
        saved_eval = {"workspace": workspace, "fingerprint": data_fp, "table": table}
        st.session_state[state.COMPLEMENT_EVAL] = saved_eval
    bar.empty()
if saved_eval and saved_eval["workspace"] == workspace and saved_eval["fingerprint"] == data_fp:
    table = saved_eval["table"]
    wide = table.pivot(index="method", columns="slice", values="recall_at_10").reindex(
        [m for m in dict.fromkeys(table["method"])])
    st.plotly_chart(complement_recall_bars(table), width="stretch", key="complement_eval_chart")
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.4f")
                                for c in ("hit_rate_at_10", "recall_at_10", "hit_rate_se", "recall_se")})
    best = {s: wide[s].idxmax() for s in wide.columns if wide[s].notna().any()}
    st.caption("Highest Recall@10 per slice: " + "; ".join(f"{s}: {m}" for s, m in best.items())
               + ". Standard errors over queries; differences within about two of them are not meaningful.")
    st.download_button("Download the complement check (CSV)", table.to_csv(index=False).encode(),
                       file_name="complement_eval.csv", mime="text/csv")
