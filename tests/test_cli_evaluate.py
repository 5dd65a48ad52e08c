"""`python -m core evaluate` and `--rules` on build/evaluate, as subprocesses on the 60-customer Instacart fixture."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "instacart_small"
SRC = ("--catalog", str(FIX / "catalog.csv"), "--orders", str(FIX / "orders.csv"))


def run_cli(*args, db):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DATABASE_URL": f"sqlite:///{db}"}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory):
    """Pin a product nobody in the fixture bought much (the last catalog row) and exclude produce."""
    cat = pd.read_csv(FIX / "catalog.csv", dtype=str)
    pin = cat.loc[~cat["category"].str.startswith("produce"), "product_id"].iloc[-1]
    path = tmp_path_factory.mktemp("rules") / "rules.json"
    path.write_text(json.dumps({"name": "summer", "pins": [{"product_id": pin, "position": 1}],
                                "exclude_categories": ["produce"]}), encoding="utf-8")
    return path, pin


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, rules_file):
    tmp = tmp_path_factory.mktemp("cli_eval")
    plain = run_cli("evaluate", *SRC, "--out", str(tmp / "plain"), "--n-boot", "200", "--k", "5",
                    db=tmp / "cache.sqlite")
    assert plain.returncode == 0, plain.stderr
    ruled = run_cli("evaluate", *SRC, "--out", str(tmp / "ruled"), "--n-boot", "200", "--k", "5",
                    "--rules", str(rules_file[0]), db=tmp / "cache.sqlite")
    assert ruled.returncode == 0, ruled.stderr
    return (pd.read_csv(tmp / "plain" / "evaluation.csv"), pd.read_csv(tmp / "ruled" / "evaluation.csv"), plain,
            ruled, tmp)


def test_evaluate_writes_every_strategy_and_metric_with_intervals(evaluated):
    from core.evaluation.offline import EVALUATION_COLUMNS, METRICS
    from core.recommend import STRATEGIES
    plain = evaluated[0]
    assert tuple(plain.columns) == EVALUATION_COLUMNS
    assert set(plain["strategy"]) == set(STRATEGIES)
    assert set(plain["metric"]) == set(METRICS)
    assert (plain["k"] == 5).all()
    rates = plain[plain["metric"] != "novelty"]
    assert rates["value"].between(0, 1).all()
    assert (rates["ci_low"] <= rates["value"] + 1e-12).all() and (rates["value"] <= rates["ci_high"] + 1e-12).all()
    assert "wrote" in evaluated[2].stderr and "evaluation.csv" in evaluated[2].stderr


def test_rules_change_the_evaluation(evaluated):
    plain, ruled = evaluated[0], evaluated[1]
    key = ["strategy", "metric"]
    both = plain.merge(ruled, on=key, suffixes=("", "_ruled"))
    cov = both[both["metric"] == "coverage"]
    # every slate now holds the pinned item and nothing from produce: the numbers move for every strategy
    assert not np.allclose(both["value"], both["value_ruled"])
    assert "rules: 'summer'" in evaluated[3].stderr
    assert len(cov) == plain["strategy"].nunique()


def test_build_applies_the_rules_to_recommendations_csv(tmp_path, rules_file):
    path, pin = rules_file
    out = tmp_path / "out"
    proc = run_cli("build", *SRC, "--out", str(out), "--top-k", "5", "--no-text", "--strategy", "popular overall",
                   "--rules", str(path), db=tmp_path / "cache.sqlite")
    assert proc.returncode == 0, proc.stderr
    recs = pd.read_csv(out / "recommendations.csv", dtype={"customer_id": str, "product_id": str})
    orders = pd.read_csv(FIX / "orders.csv", dtype=str)
    buyers = set(orders.loc[orders["product_id"] == pin, "customer_id"])
    first = recs[recs["rank"] == 1]
    assert len(first) > 0
    assert (first.loc[~first["customer_id"].isin(buyers), "product_id"] == pin).all()
    assert first["reason"].str.contains("pinned at position 1").any()
    assert not recs["category"].str.startswith("produce").any()


def test_a_bad_rules_file_is_refused_naming_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "pins": [{"product_id": "1", "position": 0}]}', encoding="utf-8")
    proc = run_cli("evaluate", *SRC, "--out", str(tmp_path / "o"), "--no-text", "--rules", str(bad),
                   db=tmp_path / "c.sqlite")
    assert proc.returncode == 2
    assert "bad.json" in proc.stderr and "position" in proc.stderr
    proc = run_cli("build", *SRC, "--out", str(tmp_path / "o"), "--strategy", "nope", db=tmp_path / "c.sqlite")
    assert proc.returncode == 2 and "unknown strategy 'nope'" in proc.stderr


def test_build_writes_the_complement_evaluation(tmp_path):
    """issue 4: DIR/complement_eval.csv (method, slice, queries, hit_rate_at_10, recall_at_10) for every method
    and slice, from a held-out split of the build's own orders."""
    from core.evaluation.complement_eval import METHODS, SLICES
    out = tmp_path / "out"
    proc = run_cli("build", *SRC, "--out", str(out), "--top-k", "3", db=tmp_path / "cache.sqlite")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out / "complement_eval.csv")
    assert tuple(table.columns[:5]) == ("method", "slice", "queries", "hit_rate_at_10", "recall_at_10")
    assert set(zip(table["method"], table["slice"])) == {(m, s) for m in METHODS for s in SLICES}
    rates = table[["hit_rate_at_10", "recall_at_10"]].stack()
    assert rates.between(0, 1).all()
    assert (table["queries"] > 0).any()
    proc = run_cli("build", *SRC, "--out", str(tmp_path / "o2"), "--top-k", "3", "--no-complement-eval",
                   db=tmp_path / "cache.sqlite")
    assert proc.returncode == 0 and not (tmp_path / "o2" / "complement_eval.csv").exists()


def test_build_infers_categories_for_a_catalog_without_them(tmp_path):
    """A catalog with no category column (like the UCI invoices): build clusters the titles, names the clusters
    and writes DIR/inferred_categories.csv; --category-k sets k."""
    cat = pd.read_csv(FIX / "catalog.csv", dtype=str).drop(columns=["category"])
    cat.to_csv(tmp_path / "catalog.csv", index=False)
    out = tmp_path / "out"
    proc = run_cli("build", "--catalog", str(tmp_path / "catalog.csv"), "--orders", str(FIX / "orders.csv"),
                   "--out", str(out), "--top-k", "3", "--category-k", "6", "--no-complement-eval",
                   db=tmp_path / "cache.sqlite")
    assert proc.returncode == 0, proc.stderr
    clusters = pd.read_csv(out / "inferred_categories.csv")
    assert len(clusters) == 6 and clusters["size"].sum() == len(cat)
    assert clusters["name"].notna().all() and clusters["name"].str.len().gt(0).all()
    pairs = pd.read_csv(out / "category_pairs.csv")
    assert set(pairs["antecedent_category"]) <= set(clusters["name"])   # the graph is over inferred categories
    assert "categories inferred from product text" in proc.stderr
    bad = run_cli("build", *SRC, "--out", str(tmp_path / "o2"), "--category-k", "1", db=tmp_path / "cache.sqlite")
    assert bad.returncode == 2 and "--category-k must be >= 2" in bad.stderr
