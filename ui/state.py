"""Every cross-page session-state key, declared in one place.

Widget keys listed in PERSISTENT are re-assigned at the top of every run (app.py), which keeps
Streamlit from dropping a widget's value when the user switches to a page that does not draw it.
"""
from core.recommend.hybrid import HybridWeights

_HW = HybridWeights()  # the hybrid sliders start at the validated defaults

WORKSPACE = "workspace"
MIN_PAIR_COUNT = "min_pair_count"
CATEGORY_LEVEL = "category_level"
PAIR_CATEGORIES = "pair_categories"
PAIR_MIN_LIFT = "pair_min_lift"
PAIR_SEARCH = "pair_search"
PAIR_SIGNIFICANT = "pair_significant"
GRAPH_EDGES = "graph_edges"
PAIR_MIN_CUSTOMERS = "pair_min_customers"      # Affinity page: distinct customers per pair
CATEGORY_K_INPUT = "category_k_input"          # + "_<workspace>": Affinity page, k of inferred categories (DB)
LABEL_UNCATEGORISED = "label_uncategorised"    # + "_<workspace>": Affinity page, label uncategorised (DB)
PAIR_MIN_RATING = "pair_min_rating"            # Affinity page: review filters (with reviews)
PAIR_MIN_SENTIMENT = "pair_min_sentiment"
CUSTOMER = "customer"
CUSTOMER_SEARCH = "customer_search"
TOP_K = "top_k"
CUSTOMER_STRATEGY = "customer_strategy"
MMR_ON = "mmr_on"
MMR_CAP = "mmr_cap"
W_AFFINITY = "w_affinity"
W_TEXT = "w_text"
W_POPULARITY = "w_popularity"
W_COLLABORATIVE = "w_collaborative"
W_COOCCURRENCE = "w_cooccurrence"
W_UNSEEN = "w_unseen"
EXP_HORIZON = "exp_horizon"
EXP_REPLICATES = "exp_replicates"
EXP_SEED = "exp_seed"
EXP_SLATE = "exp_slate"
EXP_EPSILON = "exp_epsilon"
EXP_ARMS = "exp_arms"
EXP_POLICIES = "exp_policies"
EXP_CONTEXT = "exp_context"
EXP_RESULT = "exp_result"          # last experiment result (not a widget)
IMPORT_REPORTS = "import_reports"  # last import reports by content hash (not a widget)
UPLOAD_WORKSPACE = "upload_workspace"
RULES_EDIT = "rules_edit"
EVAL_STRATEGIES = "eval_strategies"
EVAL_K = "eval_k"
EVAL_LEVEL = "eval_level"
EVAL_BOOT = "eval_boot"
EVAL_CHART_METRICS = "eval_chart_metrics"
COMPLEMENT_EVAL = "complement_eval"    # last held-out complement check (not a widget)
EVAL_RESULT = "eval_result"          # last evaluation (not a widget)
SWITCH_WORKSPACE = "_switch_workspace"  # set by a page, applied by app.py before the picker is drawn

PERSISTENT = (WORKSPACE, MIN_PAIR_COUNT, CATEGORY_LEVEL, PAIR_CATEGORIES, PAIR_MIN_LIFT, PAIR_SEARCH, PAIR_SIGNIFICANT,
              GRAPH_EDGES, PAIR_MIN_CUSTOMERS, PAIR_MIN_RATING, PAIR_MIN_SENTIMENT, CUSTOMER, CUSTOMER_SEARCH, TOP_K, W_AFFINITY, W_TEXT, W_POPULARITY, W_COLLABORATIVE, W_COOCCURRENCE, W_UNSEEN, EXP_HORIZON,
              EXP_REPLICATES, EXP_SEED, EXP_SLATE, EXP_EPSILON, EXP_ARMS, EXP_POLICIES, UPLOAD_WORKSPACE, RULES_EDIT,
              CUSTOMER_STRATEGY, MMR_ON, MMR_CAP, EVAL_STRATEGIES, EVAL_K, EVAL_LEVEL, EVAL_BOOT,
              EVAL_CHART_METRICS, EXP_CONTEXT)

DEFAULTS = {
    MIN_PAIR_COUNT: 2, CATEGORY_LEVEL: 1, PAIR_SIGNIFICANT: False, PAIR_MIN_LIFT: 1.0, PAIR_SEARCH: "", GRAPH_EDGES: 150, TOP_K: 10,
    PAIR_MIN_CUSTOMERS: 1, PAIR_MIN_RATING: 1.0, PAIR_MIN_SENTIMENT: -1.0,
    W_AFFINITY: _HW.affinity, W_TEXT: _HW.text, W_POPULARITY: _HW.popularity, W_COLLABORATIVE: _HW.collaborative,
    W_COOCCURRENCE: _HW.cooccurrence, W_UNSEEN: _HW.unseen_category, EXP_HORIZON: 3000, EXP_REPLICATES: 10, EXP_SEED: 2026,
    EXP_SLATE: 10, EXP_EPSILON: 0.1, CUSTOMER_STRATEGY: "hybrid", MMR_ON: False, MMR_CAP: 3, EVAL_K: 10, EVAL_LEVEL: 1, EVAL_BOOT: 500,
    EVAL_CHART_METRICS: ["recall", "ndcg", "new_item_ndcg", "cross_category_recall"], CUSTOMER_SEARCH: "",
}


def keep_widget_state(session_state) -> None:
    """Re-assign persistent widget keys so their values survive page switches."""
    for key in PERSISTENT:
        if key in session_state:
            session_state[key] = session_state[key]
    for key, value in DEFAULTS.items():
        session_state.setdefault(key, value)


def request_workspace(session_state, name: str) -> None:
    """Ask app.py to switch the sidebar's workspace on the next run (a drawn widget can't be set)."""
    session_state[SWITCH_WORKSPACE] = name
