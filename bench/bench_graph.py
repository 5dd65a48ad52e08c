"""The Affinity page's network at 3,000 nodes and 40,000 edges (issue 4, items 5-6): is it responsive?

    .venv/bin/python bench/bench_graph.py [--nodes 3000] [--edges 40000] [--repeats 3] [--layout-iterations 60]

A seeded graph with a heavy-tailed degree distribution (each edge picks its ends with probability
proportional to ``1 / rank**0.8``, like co-purchase graphs where a few staples touch everything; the
shared case 17 has one node of degree 1,317) is built as a pair table and run through what the page does:

* ``affinity_graph`` — ``core.affinity.affinity_graph(pairs, top_n=edges)`` (pair frame -> networkx);
* ``layout`` — ``ui.charts.graph_layout`` (force-directed on the 400 best-connected nodes, the rest
  placed next to their partners), against ``networkx.spring_layout`` of the whole graph (the page's
  layout before; ``--no-spring-peer`` leaves it out);
* ``network_figure`` — ``ui.charts.network_figure`` (one WebGL line trace + one marker trace per category);
* ``to_json`` — ``fig.to_json()``: what Streamlit sends to the browser (its size is printed);
* peers, same run: ``bare Scattergl`` — the minimum, one line and one marker trace from ready numpy
  arrays; ``per-edge lists`` — the previous network_figure (Python lists grown per edge with None breaks).

Ratios are ours / peer. Nothing asserts on seconds (STYLE.md).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import load_average, revision  # noqa: E402


def _graph_pairs(n_nodes: int, n_edges: int, seed: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    w = 1.0 / np.arange(1, n_nodes + 1) ** 0.8
    w /= w.sum()
    seen: set = set()
    a_list, b_list = [], []
    while len(seen) < n_edges:
        a = rng.choice(n_nodes, size=n_edges, p=w)
        b = rng.integers(0, n_nodes, size=n_edges)
        for i, j in zip(a.tolist(), b.tolist()):
            if i != j and (min(i, j), max(i, j)) not in seen:
                seen.add((min(i, j), max(i, j)))
                a_list.append(min(i, j))
                b_list.append(max(i, j))
                if len(seen) == n_edges:
                    break
    ids = np.array([f"N{i:04d}" for i in range(n_nodes)], dtype=object)
    a, b = np.array(a_list), np.array(b_list)
    pairs = pd.DataFrame({"antecedent_id": ids[a], "consequent_id": ids[b], "affinity": rng.random(len(a)),
                          "pair_count": rng.integers(1, 50, len(a)), "lift": rng.random(len(a)) * 10})
    cats = {i: f"category {k % 21}" for k, i in enumerate(ids)}
    titles = {i: f"Product {i}" for i in ids}
    return pairs, cats, titles


def _old_network_figure(graph, positions, node_category, node_title):
    """ui.charts.network_figure as of commit 865c84a (per-edge Python lists), the 'before' peer."""
    import numpy as np
    import pandas as pd
    import plotly.express as px
    import plotly.graph_objects as go

    ex, ey = [], []
    for a, b in graph.edges():
        (x0, y0), (x1, y1) = positions[a], positions[b]
        ex += [x0, x1, None]
        ey += [y0, y1, None]
    fig = go.Figure(go.Scattergl(x=ex, y=ey, mode="lines", line=dict(width=0.6, color="rgba(120,120,120,0.45)"),
                                 hoverinfo="skip", showlegend=False))
    nodes = pd.DataFrame({"id": list(graph.nodes())})
    nodes["x"] = [positions[n][0] for n in nodes["id"]]
    nodes["y"] = [positions[n][1] for n in nodes["id"]]
    nodes["category"] = [node_category.get(n, "") for n in nodes["id"]]
    nodes["title"] = [node_title.get(n, str(n)) for n in nodes["id"]]
    nodes["degree"] = [graph.degree(n) for n in nodes["id"]]
    palette = px.colors.qualitative.Dark24 + px.colors.qualitative.Light24
    for i, (cat, grp) in enumerate(nodes.groupby("category")):
        fig.add_trace(go.Scattergl(x=grp["x"], y=grp["y"], mode="markers", name=str(cat),
                                   marker=dict(size=6 + 2 * np.sqrt(grp["degree"]), color=palette[i % len(palette)]),
                                   customdata=grp[["title", "id", "degree"]].to_numpy(),
                                   hovertemplate="%{customdata[0]}<br>id %{customdata[1]} · %{customdata[2]} links"
                                                 "<extra>%{fullData.name}</extra>"))
    fig.update_layout(height=600)
    return fig


def _bare(graph, positions):
    import numpy as np
    import plotly.graph_objects as go

    nodes = list(graph.nodes())
    pos = np.array([positions[n] for n in nodes])
    index = {n: i for i, n in enumerate(nodes)}
    ends = np.array([(index[a], index[b]) for a, b in graph.edges()])
    ex = np.full((len(ends), 3), np.nan)
    ey = np.full((len(ends), 3), np.nan)
    ex[:, :2], ey[:, :2] = pos[ends, 0], pos[ends, 1]
    return go.Figure([go.Scattergl(x=ex.ravel(), y=ey.ravel(), mode="lines"),
                      go.Scattergl(x=pos[:, 0], y=pos[:, 1], mode="markers")])


def _best(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=3000)
    ap.add_argument("--edges", type=int, default=40000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--layout-iterations", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-spring-peer", action="store_true",
                    help="leave out networkx's spring_layout of the whole graph (81 s at 3,000 nodes on 2 busy cores)")
    args = ap.parse_args(argv)

    import networkx as nx

    from core.affinity import affinity_graph
    from ui.charts import graph_layout, network_figure

    print(f"bench_graph: {args.nodes:,} nodes, {args.edges:,} edges; {load_average()}")
    print(f"code: {revision('ui')}")
    pairs, cats, titles = _graph_pairs(args.nodes, args.edges, args.seed)
    rows = []
    t, g = _best(lambda: affinity_graph(pairs, weight="affinity", top_n=args.edges), args.repeats)
    rows.append(("affinity_graph (pairs -> networkx)", t, f"{g.number_of_nodes():,} nodes, {g.number_of_edges():,} "
                                                          f"edges, max degree {max(d for _, d in g.degree()):,}"))
    t_lay, positions = _best(lambda: graph_layout(g, seed=7, iterations=args.layout_iterations), args.repeats)
    rows.append((f"ours: layout graph_layout ({args.layout_iterations} it.)", t_lay, "the page caches it"))
    if not args.no_spring_peer:
        t_spring, _ = _best(lambda: nx.spring_layout(g, seed=7, iterations=args.layout_iterations), 1)
        rows.append(("peer: networkx spring_layout, whole graph", t_spring, "the page's layout before; run once"))
    info = {n: "12 reviews · rating 4.2 · sentiment +0.40" for n in g.nodes()}
    t_new, fig = _best(lambda: network_figure(g, positions, cats, titles, node_info=info), args.repeats)
    t_js, js = _best(fig.to_json, args.repeats)
    rows.append(("ours: network_figure", t_new, f"{len(fig.data)} traces"))
    rows.append(("ours: fig.to_json()", t_js, f"{len(js) / 2**20:.2f} MiB"))
    t_old, old = _best(lambda: _old_network_figure(g, positions, cats, titles), args.repeats)
    t_ojs, ojs = _best(old.to_json, args.repeats)
    rows.append(("peer: per-edge lists (before)", t_old, ""))
    rows.append(("peer: per-edge lists, to_json()", t_ojs, f"{len(ojs) / 2**20:.2f} MiB"))
    t_bare, bare = _best(lambda: _bare(g, positions), args.repeats)
    t_bjs, bjs = _best(bare.to_json, args.repeats)
    rows.append(("peer: bare Scattergl (2 traces)", t_bare, ""))
    rows.append(("peer: bare Scattergl, to_json()", t_bjs, f"{len(bjs) / 2**20:.2f} MiB"))
    print(f"\n{'step':48s} {'best s':>8s}  note")
    print("-" * 90)
    for name, sec, note in rows:
        print(f"{name:48s} {sec:8.3f}  {note}")
    ours, before, minimum = t_new + t_js, t_old + t_ojs, t_bare + t_bjs
    print(f"\nratios (figure + JSON, same run): ours / per-edge lists {ours / before:.2f}x; "
          f"ours / bare Scattergl {ours / minimum:.2f}x; JSON size ours / bare {len(js) / len(bjs):.2f}x")
    if not args.no_spring_peer:
        print(f"layout: ours / networkx spring_layout of the whole graph {t_lay / t_spring:.3f}x")
    print(f"({load_average()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
