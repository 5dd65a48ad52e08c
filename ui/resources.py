"""Cached resources: the engine, the encoder, each workspace's data and built model.

Keys are content fingerprints (from the import log), so a new upload can never show stale results.
"""
from __future__ import annotations

from collections import OrderedDict

import streamlit as st

from core.affinity import AffinitySettings
from core.embeddings import Encoder, embed_cached
from core.pipeline import BuildSettings, build_model
from core.store import load_workspace, make_engine
from core.store.category_choices import load_category_choices
from core.store.repo import workspace_fingerprint
from core.workspace import ensure_demo

_MAX_MODELS = 4


@st.cache_resource(show_spinner="Opening the database (first start loads the demo data)…")
def get_engine():
    engine = make_engine()
    ensure_demo(engine)
    return engine


@st.cache_resource(show_spinner="Loading the language model…")
def get_encoder() -> Encoder:
    return Encoder()


@st.cache_resource(show_spinner=False)
def _model_store() -> OrderedDict:
    return OrderedDict()


@st.cache_resource(show_spinner=False)
def _data_store() -> OrderedDict:
    return OrderedDict()


def fingerprint(workspace: str) -> str:
    return workspace_fingerprint(get_engine(), workspace)


def workspace_data(workspace: str):
    """The workspace's tables, read once per content fingerprint."""
    key = fingerprint(workspace)
    store = _data_store()
    if key not in store:
        store[key] = load_workspace(get_engine(), workspace)
        while len(store) > _MAX_MODELS:
            store.popitem(last=False)
    return store[key]


def _progress_bar(label: str):
    bar = st.progress(0.0, text=label)

    def update(frac: float, msg: str) -> None:
        bar.progress(min(max(frac, 0.0), 1.0), text=f"{label}: {msg}")
    return bar, update


def shop_model(workspace: str, min_pair_count: int = 2, category_level: int = 1, orders=None, tag: str = "all"):
    """Build (once per fingerprint and settings) the ShopModel, with a progress bar while it builds.

    ``orders`` replaces the workspace's orders (the experiments' training split); ``tag`` names it.
    """
    data = workspace_data(workspace)
    choices = load_category_choices(get_engine(), workspace)   # inferred categories: k, names (Affinity page)
    settings = BuildSettings(AffinitySettings(min_pair_count=int(min_pair_count)),
                             category_level=int(category_level), category_k=choices.k,
                             category_names=choices.names_tuple(), label_uncategorised=choices.label_uncategorised)
    key = (data.fingerprint, settings, tag)
    store = _model_store()
    if key not in store:
        engine, encoder = get_engine(), get_encoder()
        bar, update = _progress_bar("Building the affinity graph")
        store[key] = build_model(data.catalog, data.orders if orders is None else orders, data.reviews, settings,
                                 embed=lambda texts, progress: embed_cached(texts, encoder, engine, progress)[0],
                                 progress=update)
        bar.empty()
        while len(store) > _MAX_MODELS:
            store.popitem(last=False)
    return store[key]


def progress_bar(label: str):
    """(bar, update callback) for long work on a page."""
    return _progress_bar(label)


def active_rules(workspace: str):
    """The workspace's active :class:`core.rules.RuleSet`, or None (read on every run: it is one small query)."""
    from core.store.rules import get_active_rule_set
    return get_active_rule_set(get_engine(), workspace)


def compiled_rules(workspace: str, model, orders=None):
    """The active rule set compiled against ``model`` (None when no rule set is active).

    ``orders`` are the orders the model was built from (default: the workspace's); they give the customers'
    reference prices. The compiled rules are kept on the model object, keyed by the rule set's JSON, so an edit
    recompiles and a page switch does not.
    """
    from core.rules import compile_rules
    rules = active_rules(workspace)
    if rules is None:
        return None
    cache = model.__dict__.setdefault("_compiled_rules", {})
    key = rules.to_json()
    if key not in cache:
        data = workspace_data(workspace)
        cache.clear()
        cache[key] = compile_rules(rules, model, data.catalog, data.orders if orders is None else orders)
    return cache[key]


def held_out_arms(workspace: str, names, min_pair_count: int, category_level: int):
    """What the Evaluation and Experiments pages share: each customer's last order held out, the model built on
    the rest, and the named strategies (core.recommend.STRATEGIES) carrying the active rule set compiled on
    the training orders.

    Returns
    -------
    (train, test, model, rules, strategies): order frames, the training ShopModel, CompiledRules or None,
    dict name -> unfitted strategy.
    """
    from core.evaluation import leave_last_order_out
    from core.recommend import STRATEGIES

    data = workspace_data(workspace)
    train, test = leave_last_order_out(data.orders)
    model = shop_model(workspace, min_pair_count, category_level, orders=train, tag="train")
    rules = compiled_rules(workspace, model, orders=train)
    strategies = {}
    for name in names:
        strategies[name] = STRATEGIES[name]()
        strategies[name].rules = rules
    return train, test, model, rules, strategies
