"""Reusable plotly figures. Pure functions of frames; no Streamlit calls."""
from __future__ import annotations

import re

import networkx as nx
import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go


def lift_heatmap(category_pairs: pd.DataFrame, max_categories: int = 40) -> go.Figure:
    """Category x category lift, coloured by log2(lift) (0 = independent), hover with counts."""
    cp = category_pairs
    top = (cp.groupby("antecedent_category")["antecedent_count"].max().sort_values(ascending=False)
           .head(max_categories).index.tolist())
    cp = cp[cp["antecedent_category"].isin(top) & cp["consequent_category"].isin(top)]
    cats = sorted(top)
    lift = cp.pivot(index="antecedent_category", columns="consequent_category", values="lift").reindex(
        index=cats, columns=cats)
    count = cp.pivot(index="antecedent_category", columns="consequent_category", values="pair_count").reindex(
        index=cats, columns=cats)
    z = np.log2(lift.to_numpy(dtype=float))
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    fig = go.Figure(go.Heatmap(
        z=z, x=cats, y=cats, zmid=0, zmin=-lim, zmax=lim, colorscale="RdBu_r",
        customdata=np.dstack([lift.to_numpy(dtype=float), count.to_numpy(dtype=float)]),
        hovertemplate="%{y} → %{x}<br>lift %{customdata[0]:.2f}<br>%{customdata[1]:,.0f} baskets hold both"
                      "<extra></extra>",
        colorbar=dict(title="log2 lift")))
    fig.update_layout(height=max(420, 18 * len(cats)), margin=dict(l=10, r=10, t=30, b=10),
                      xaxis=dict(tickangle=45), yaxis=dict(autorange="reversed"))
    return fig


def graph_layout(graph: nx.Graph, seed: int = 7, iterations: int = 60, max_force_nodes: int = 400) -> dict:
    """2-d positions of the nodes: force-directed, capped so that large graphs stay quick.

    Up to ``max_force_nodes`` nodes: ``networkx.spring_layout`` (Fruchterman-Reingold) of the whole
    graph. Above: the ``max_force_nodes`` nodes of highest weighted degree are laid out that way and
    every other node is placed, breadth-first from them, at the mean position of its already placed
    neighbours plus a seeded offset (radius 0.04 of the layout's unit scale); nodes of components
    without such a node go on an outer ring. Why: networkx's layout of 3,000 nodes and 40,000 edges
    (its 'energy' method, O(n^2) per step) took 81 s on the shared 2-core machine; this takes well
    under a second (bench/bench_graph.py).

    Returns
    -------
    dict node -> (x, y) floats, roughly in [-1, 1] (outer ring at radius 1.2).
    """
    n = graph.number_of_nodes()
    if n <= max_force_nodes:
        return {k: (float(p[0]), float(p[1])) for k, p in nx.spring_layout(graph, seed=seed,
                                                                           iterations=iterations).items()}
    deg = dict(graph.degree(weight="weight"))
    core = sorted(graph.nodes(), key=lambda v: (-deg[v], str(v)))[:max_force_nodes]
    pos = {k: np.asarray(p, dtype=float) for k, p in nx.spring_layout(graph.subgraph(core), seed=seed,
                                                                       iterations=iterations).items()}
    rng = np.random.default_rng(seed)
    frontier = list(core)
    while frontier:
        nxt = []
        for v in frontier:
            for w in graph.neighbors(v):
                if w not in pos:
                    placed = [pos[u] for u in graph.neighbors(w) if u in pos]
                    angle = rng.uniform(0, 2 * np.pi)
                    pos[w] = np.mean(placed, axis=0) + 0.04 * np.array([np.cos(angle), np.sin(angle)])
                    nxt.append(w)
        frontier = nxt
    rest = [v for v in graph.nodes() if v not in pos]
    for i, v in enumerate(rest):
        angle = 2 * np.pi * i / max(len(rest), 1)
        pos[v] = np.array([1.2 * np.cos(angle), 1.2 * np.sin(angle)])
    return {k: (float(p[0]), float(p[1])) for k, p in pos.items()}


def network_figure(graph: nx.Graph, positions: dict, node_category: dict, node_title: dict,
                   node_info: dict | None = None) -> go.Figure:
    """Edges as one WebGL line trace, nodes as one WebGL marker trace per category.

    ``node_info`` (optional): node -> one more hover line (e.g. review count, rating, sentiment).
    Edge coordinates are built with numpy (no per-edge Python lists): 3,000 nodes and 40,000 edges
    take well under a second (bench/bench_graph.py).
    """
    nodes = list(graph.nodes())
    pos = np.array([positions[n] for n in nodes], dtype=float).reshape(-1, 2)
    index = {n: i for i, n in enumerate(nodes)}
    if graph.number_of_edges():
        ends = np.array([(index[a], index[b]) for a, b in graph.edges()], dtype=np.int64)
        ex = np.full((len(ends), 3), np.nan)
        ey = np.full((len(ends), 3), np.nan)
        ex[:, 0], ex[:, 1] = pos[ends[:, 0], 0], pos[ends[:, 1], 0]
        ey[:, 0], ey[:, 1] = pos[ends[:, 0], 1], pos[ends[:, 1], 1]
        ex, ey = ex.ravel(), ey.ravel()      # NaN breaks the line between edges (as None does)
    else:
        ex = ey = np.zeros(0)
    fig = go.Figure(go.Scattergl(x=ex, y=ey, mode="lines", line=dict(width=0.6, color="rgba(120,120,120,0.45)"),
                                 hoverinfo="skip", showlegend=False))
    frame = pd.DataFrame({"id": nodes, "x": pos[:, 0], "y": pos[:, 1]})
    frame["category"] = [node_category.get(n, "") for n in nodes]
    frame["title"] = [node_title.get(n, str(n)) for n in nodes]
    frame["degree"] = [graph.degree(n) for n in nodes]
    frame["info"] = [node_info.get(n, "") if node_info else "" for n in nodes]
    extra = "<br>%{customdata[3]}" if node_info else ""
    palette = px.colors.qualitative.Dark24 + px.colors.qualitative.Light24  # 48 distinct colours
    for i, (cat, grp) in enumerate(frame.groupby("category")):
        fig.add_trace(go.Scattergl(x=grp["x"], y=grp["y"], mode="markers", name=str(cat),
                                   marker=dict(size=6 + 2 * np.sqrt(grp["degree"]), color=palette[i % len(palette)]),
                                   customdata=grp[["title", "id", "degree", "info"]].to_numpy(),
                                   hovertemplate="%{customdata[0]}<br>id %{customdata[1]} · %{customdata[2]} links"
                                                 + extra + "<extra>%{fullData.name}</extra>"))
    fig.update_layout(height=600, margin=dict(l=0, r=0, t=10, b=0), xaxis=dict(visible=False),
                      yaxis=dict(visible=False), legend=dict(itemsizing="constant"))
    return fig


def category_share_bar(shares: pd.DataFrame) -> go.Figure:
    """Horizontal bars of a customer's share of lines per category (columns category, share, lines)."""
    fig = px.bar(shares.sort_values("share"), x="share", y="category", orientation="h",
                 hover_data={"lines": True, "share": ":.1%"})
    fig.update_layout(height=max(250, 24 * len(shares)), margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(tickformat=".0%", title="share of order lines"), yaxis=dict(title=None))
    return fig


def policy_lines(frame: pd.DataFrame, y: str, title: str) -> go.Figure:
    """Mean over replicates of ``y`` per step and policy (columns step, policy, y, y_low, y_high)."""
    fig = go.Figure()
    for i, (policy, grp) in enumerate(frame.groupby("policy", sort=False)):
        color = px.colors.qualitative.Plotly[i % 10]
        fig.add_trace(go.Scatter(x=grp["step"], y=grp[y], mode="lines", name=policy, line=dict(color=color)))
        if f"{y}_low" in grp:
            fig.add_trace(go.Scatter(x=np.concatenate([grp["step"], grp["step"][::-1]]),
                                     y=np.concatenate([grp[f"{y}_high"], grp[f"{y}_low"][::-1]]),
                                     fill="toself", fillcolor=color, opacity=0.15, line=dict(width=0),
                                     hoverinfo="skip", showlegend=False))
    fig.update_layout(title=title, height=380, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="simulated visits",
                      yaxis_title=y.replace("_", " "))
    return fig


def traffic_area(share: pd.DataFrame, title: str) -> go.Figure:
    """Stacked share of visits per arm over time (columns step, arm, share)."""
    fig = px.area(share, x="step", y="share", color="arm", title=title)
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10), yaxis=dict(tickformat=".0%", range=[0, 1]),
                      xaxis_title="simulated visits")
    return fig


def arm_rates_bar(table: pd.DataFrame) -> go.Figure:
    """Held-out conversion per arm with its 95% interval (columns arm, rate, ci_low, ci_high)."""
    fig = go.Figure(go.Bar(x=table["arm"], y=table["rate"],
                           error_y=dict(type="data", symmetric=False, array=table["ci_high"] - table["rate"],
                                        arrayminus=table["rate"] - table["ci_low"])))
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10), yaxis=dict(tickformat=".1%",
                      title="held-out conversion"), title="True conversion per strategy on held-out orders (95% CI)")
    return fig


def md_escape(text: str) -> str:
    """Escape Markdown specials so uploaded titles render as plain text."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", str(text))


def metric_bars(table: pd.DataFrame, metrics: list) -> go.Figure:
    """Grouped bars: one group per metric, one bar per strategy, 95% bootstrap interval as error bars.

    ``table`` has the columns of ``core.evaluation.offline.EVALUATION_COLUMNS``.
    """
    fig = go.Figure()
    sub = table[table["metric"].isin(metrics)]
    for name, grp in sub.groupby("strategy", sort=False):
        fig.add_bar(name=name, x=grp["metric"], y=grp["value"],
                    error_y=dict(type="data", symmetric=False, array=grp["ci_high"] - grp["value"],
                                 arrayminus=grp["value"] - grp["ci_low"]),
                    hovertemplate="%{x}: %{y:.4f}<extra>" + str(name) + "</extra>")
    fig.update_layout(barmode="group", height=420, margin=dict(l=10, r=10, t=30, b=10),
                      yaxis_title="value (95% bootstrap interval)", legend_title_text="strategy")
    return fig


def segment_bar(analysis: pd.DataFrame) -> go.Figure:
    """Customers per RFM segment (``analysis`` from core.customers.customer_analysis), most first."""
    counts = analysis["segment"].fillna("(no score)").value_counts().rename_axis("segment").reset_index(name="customers")
    fig = px.bar(counts.sort_values("customers"), x="customers", y="segment", orientation="h",
                 hover_data={"customers": ":,"})
    fig.update_layout(height=max(250, 28 * len(counts)), margin=dict(l=10, r=10, t=10, b=10), yaxis_title=None)
    return fig


def share_area(shares: pd.DataFrame, title: str, top: int = 8) -> go.Figure:
    """Stacked shares per period (``core.customers.category_shares_over_time``); the ``top`` categories by lines,
    the rest summed as 'other'."""
    keep = shares.groupby("category")["lines"].sum().nlargest(top).index
    s = shares.assign(category=shares["category"].where(shares["category"].isin(keep), "other"))
    s = s.groupby(["period_start", "period", "category"], as_index=False, sort=True)[["lines", "share"]].sum()
    fig = px.area(s, x="period", y="share", color="category", hover_data={"lines": True, "share": ":.1%"},
                  category_orders={"period": list(dict.fromkeys(s.sort_values("period_start")["period"]))})
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=40, b=10), title=title,
                      yaxis=dict(tickformat=".0%", title="share of order lines"), xaxis_title=None)
    return fig


def segment_regret_lines(curves: pd.DataFrame) -> go.Figure:
    """Regret against the per-segment oracle over visits, pooled vs per-segment bandit for each policy
    (``ExperimentResult.segment_curves()``), with the 2.5–97.5 percentile band over replicates."""
    fig = go.Figure()
    for (policy, variant), g in curves.groupby(["policy", "variant"], sort=False):
        name = f"{policy} · {variant}"
        dash = "dot" if variant == "pooled" else "solid"
        fig.add_scatter(x=g["step"], y=g["regret"], mode="lines", name=name, line=dict(dash=dash),
                        hovertemplate="visit %{x}: %{y:.1f}<extra>" + name + "</extra>")
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="visit",
                      yaxis_title="cumulative regret vs per-segment oracle", title="Pooled (dotted) vs per segment")
    return fig


def complement_recall_bars(table: pd.DataFrame) -> go.Figure:
    """Recall@10 per method, grouped by slice (all / cold / new), ± one standard error
    (``core.evaluation.complement_eval.complement_eval_table``)."""
    fig = go.Figure()
    for method, g in table.groupby("method", sort=False):
        fig.add_bar(name=method, x=g["slice"], y=g["recall_at_10"],
                    error_y=dict(type="data", array=g["recall_se"]) if "recall_se" in g else None,
                    hovertemplate="%{x}: %{y:.4f}<extra>" + str(method) + "</extra>")
    fig.update_layout(barmode="group", height=380, margin=dict(l=10, r=10, t=30, b=10),
                      yaxis_title="Recall@10 (± 1 SE)", legend_title_text="method")
    return fig
