"""Merchandising rules: pins, boosts and buries, exclusions, a price band, only-other-categories.

A workspace keeps named rule sets; the active one is applied alike to the Customers preview, the
Evaluation and the Experiments pages (and to ``python -m core build/evaluate --rules FILE``).
"""
import pandas as pd
import streamlit as st

from core.errors import CrossSellError
from core.rules import RuleSet
from core.store.rules import (RuleSetNotFound, delete_rule_set, get_active_rule_set, list_rule_sets, load_rule_set,
                              save_rule_set, set_active_rule_set)
from ui import state
from ui.page import page_setup
from ui.resources import compiled_rules, get_engine, shop_model, workspace_data

engine = get_engine()
workspace = page_setup()
st.title("Merchandising rules")
st.caption("Decide what may be shown and where: pin products to slate positions, boost or bury categories and "
           "brands, exclude products or categories (out of stock, restricted), keep recommendations within a price "
           "band around what each customer usually pays, or show only categories a customer has never bought. "
           "The **active** rule set applies to the Customers preview, the Evaluation and the Experiments alike, "
           "and every reason says when a rule moved an item.")

NONE = "(no rules)"
NEW = "(new rule set)"
sets = list_rule_sets(engine, workspace)
names = sets["name"].tolist()
active = get_active_rule_set(engine, workspace)

st.subheader("Rule sets")
if sets.empty:
    st.info("This workspace has no rule set yet: create one below.")
else:
    st.dataframe(sets, hide_index=True, width="stretch")
    st.download_button("Download rule sets (CSV)", sets.to_csv(index=False).encode(),
                       file_name=f"rule_sets_{workspace}.csv", mime="text/csv")
ACTIVE_KEY = f"active_rules_{workspace}"


def _activate() -> None:
    picked = st.session_state[ACTIVE_KEY]
    set_active_rule_set(engine, workspace, None if picked == NONE else picked)
    st.toast(f"Active rule set: {picked}")


# the database is the truth (another tab or the CLI may have changed it): the radio shows what it says
st.session_state[ACTIVE_KEY] = active.name if active else NONE
st.radio("Active rule set", [NONE] + names, horizontal=True, key=ACTIVE_KEY, on_change=_activate)

# ---- editor ----------------------------------------------------------------------------------------
st.subheader("Edit")
base_name = st.selectbox("Start from", [NEW] + names, key=state.RULES_EDIT)
try:
    base = RuleSet("new rules") if base_name == NEW else load_rule_set(engine, workspace, base_name)
except RuleSetNotFound:
    base = RuleSet("new rules")
data = workspace_data(workspace)
catalog = data.catalog
titles = dict(zip(catalog["product_id"].astype(str), catalog["title"].astype(str)))
paths = catalog["category"].dropna().astype(str) if "category" in catalog else pd.Series([], dtype=str)
parts = [[x.strip() for x in p.split(">") if x.strip()] for p in paths.unique()]
levels = sorted({" > ".join(ps[:i + 1]) for ps in parts for i in range(len(ps))})
brands = sorted(catalog["brand"].dropna().astype(str).unique()) if "brand" in catalog else []
has_price = "price" in catalog and catalog["price"].notna().any() or "price" in data.orders and data.orders[
    "price"].notna().any()

with st.form(f"rules_form_{workspace}_{base_name}"):
    name = st.text_input("Name", base.name)
    st.markdown("**Pins** — show a product at a fixed position of every slate (unless the customer bought it or "
                "it is excluded).")
    pins = st.data_editor(
        pd.DataFrame(list(base.pins), columns=["product_id", "position"]).astype({"product_id": str,
                                                                                  "position": "Int64"}),
        num_rows="dynamic", width="stretch", key=f"pins_{base_name}",
        column_config={"product_id": st.column_config.TextColumn("Product id", required=True),
                       "position": st.column_config.NumberColumn("Position", min_value=1, max_value=50, step=1,
                                                                 required=True)})
    st.markdown("**Boosts and buries** — multiply the score of a category's or a brand's products (above 1 "
                "boosts, below 1 buries).")
    boosts = st.data_editor(
        pd.DataFrame(list(base.boosts), columns=["kind", "value", "factor"]).astype({"kind": str, "value": str,
                                                                                   "factor": float}),
        num_rows="dynamic", width="stretch", key=f"boosts_{base_name}",
        column_config={"kind": st.column_config.SelectboxColumn("Kind", options=["category", "brand"],
                                                                required=True),
                       "value": st.column_config.SelectboxColumn("Category or brand", options=levels + brands,
                                                                 required=True),
                       "factor": st.column_config.NumberColumn("Factor", min_value=0.01, max_value=100.0,
                                                               step=0.1, required=True)})
    e1, e2 = st.columns(2)
    exclude_items = e1.multiselect("Exclude products", sorted(titles), default=[p for p in base.exclude_items
                                                                              if p in titles],
                                   format_func=lambda p: f"{titles.get(p, '?')} ({p})")
    exclude_categories = e2.multiselect("Exclude categories (any level)", levels,
                                        default=[c for c in base.exclude_categories if c in levels])
    b1, b2 = st.columns(2)
    use_band = b1.checkbox("Keep within a price band", base.price_band is not None, disabled=not has_price,
                           help=None if has_price else "This workspace has no prices.")
    band = b1.slider("Band, times the customer's median unit price", 0.0, 5.0,
                     tuple(base.price_band) if base.price_band else (0.5, 2.0), step=0.05)
    only_other = b2.toggle("Only categories the customer has never bought", base.only_other_categories)
    saved = st.form_submit_button("Save rule set", type="primary")

if saved:
    try:
        pin_rows = pins.dropna(how="all")
        boost_rows = boosts.dropna(how="all")
        rules = RuleSet(name=name.strip(),
                        pins=[(str(p), int(q)) for p, q in zip(pin_rows["product_id"], pin_rows["position"])],
                        boosts=[(str(k), str(v), float(f)) for k, v, f in
                                zip(boost_rows["kind"], boost_rows["value"], boost_rows["factor"])],
                        exclude_items=exclude_items, exclude_categories=exclude_categories,
                        price_band=tuple(band) if use_band else None, only_other_categories=only_other)
    except (TypeError, ValueError) as exc:
        st.error(f"The rule set was not saved: {exc}")
    else:
        save_rule_set(engine, workspace, rules)
        st.success(f"Saved rule set {rules.name!r}: {rules.summary()}.")
        if not active:
            set_active_rule_set(engine, workspace, rules.name)
            st.info(f"{rules.name!r} is now the active rule set (no other was active).")

if base_name != NEW:
    if st.button(f"Delete rule set {base_name!r}"):
        delete_rule_set(engine, workspace, base_name)
        st.session_state.pop(state.RULES_EDIT, None)
        st.rerun()

# ---- what the active rule set does here -----------------------------------------------------------
active = get_active_rule_set(engine, workspace)
if active is not None:
    st.subheader(f"Active: {active.name}")
    st.caption(active.summary())
    try:
        model = shop_model(workspace, st.session_state[state.MIN_PAIR_COUNT], st.session_state[state.CATEGORY_LEVEL])
        compiled = compiled_rules(workspace, model)
    except CrossSellError as exc:
        st.warning(f"Cannot check the rules against the data yet: {exc}")
    else:
        for w in compiled.warnings:
            st.warning(w)
        n_out = int(compiled.excluded.sum())
        st.markdown(f"Excluded everywhere: **{n_out:,}** of {model.n_items:,} products; boosted or buried: "
                    f"**{int((compiled.factors != 1).sum()):,}**.")
        st.download_button("Download the rule set (JSON, for `python -m core ... --rules`)",
                           active.to_json().encode(), file_name=f"rules_{active.name}.json",
                           mime="application/json")
