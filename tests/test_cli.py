"""`python -m core build` end to end, as a subprocess, on the real 60-customer Instacart fixture."""
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core import schema as S

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "instacart_small"


def run_cli(*args, db):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DATABASE_URL": f"sqlite:///{db}"}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    out = tmp / "out"
    proc = run_cli("build", "--catalog", str(FIX / "catalog.csv"), "--orders", str(FIX / "orders.csv"),
                   "--out", str(out), "--top-k", "5", db=tmp / "cache.sqlite")
    assert proc.returncode == 0, proc.stderr
    return out, proc, tmp


def test_build_writes_the_three_files_with_the_documented_columns(built):
    out, proc, _ = built
    pairs = pd.read_csv(out / "item_pairs.csv", dtype={"antecedent_id": str, "consequent_id": str})
    cats = pd.read_csv(out / "category_pairs.csv")
    recs = pd.read_csv(out / "recommendations.csv", dtype={"customer_id": str, "product_id": str})
    assert tuple(pairs.columns) == S.ITEM_PAIR_COLUMNS
    assert tuple(cats.columns) == S.CATEGORY_PAIR_COLUMNS
    assert tuple(recs.columns) == S.RECOMMENDATION_COLUMNS
    assert (pairs["pair_count"] >= 2).all()
    assert pairs["affinity"].between(0, 1).all()
    assert "[build 100%]" in proc.stderr  # progress on stderr


def test_item_pair_figures_match_a_count_by_hand(built):
    out, _, _ = built
    pairs = pd.read_csv(out / "item_pairs.csv", dtype={"antecedent_id": str, "consequent_id": str})
    orders = pd.read_csv(FIX / "orders.csv", dtype=str)
    baskets = orders.groupby("order_id")["product_id"].agg(set)
    n = len(baskets)
    row = pairs.iloc[0]
    a, b = row["antecedent_id"], row["consequent_id"]
    n_a = sum(a in s for s in baskets)
    n_b = sum(b in s for s in baskets)
    n_ab = sum(a in s and b in s for s in baskets)
    assert row["pair_count"] == n_ab
    assert row["support"] == pytest.approx(n_ab / n)
    assert row["confidence"] == pytest.approx(n_ab / n_a)
    assert row["lift"] == pytest.approx(n * n_ab / (n_a * n_b))


def test_every_customer_with_two_orders_gets_cross_category_recommendations(built):
    out, _, _ = built
    recs = pd.read_csv(out / "recommendations.csv", dtype={"customer_id": str, "product_id": str})
    orders = pd.read_csv(FIX / "orders.csv", dtype=str)
    repeat = set(orders.groupby("customer_id")["order_id"].nunique().loc[lambda s: s >= 2].index)
    assert repeat <= set(recs["customer_id"])
    assert recs.groupby("customer_id")["rank"].max().le(5).all()
    bought = orders.groupby("customer_id")["product_id"].agg(set)
    assert not any(p in bought[c] for c, p in zip(recs["customer_id"], recs["product_id"]))
    assert recs["reason"].str.len().gt(0).all()


def test_second_build_encodes_nothing(built):
    out, _, tmp = built
    proc = run_cli("build", "--catalog", str(FIX / "catalog.csv"), "--orders", str(FIX / "orders.csv"),
                   "--out", str(tmp / "again"), db=tmp / "cache.sqlite")
    assert proc.returncode == 0, proc.stderr
    assert "embeddings: 0 texts encoded now" in proc.stderr


@pytest.mark.parametrize("content, extra, needles", [
    (b"product_id,name_of_thing\n1,x\n", [], ["catalog.csv", "title", "required column"]),
    (b"product_id,title,price\n1,ok,2\n2,bad,abc\n", ["--strict"], ["catalog.csv", "row 3", "price", "abc"]),
    (b"product_id,title\n1,caf\x81\x8d\n", [], ["catalog.csv", "row 2"]),
])
def test_bad_input_exits_2_naming_file_row_and_column(tmp_path, content, extra, needles):
    cat = tmp_path / "catalog.csv"
    cat.write_bytes(content)
    proc = run_cli("build", "--catalog", str(cat), "--orders", str(FIX / "orders.csv"), "--out",
                   str(tmp_path / "o"), "--no-text", *extra, db=tmp_path / "c.sqlite")
    assert proc.returncode == 2, proc.stderr
    for needle in needles:
        assert needle.lower() in proc.stderr.lower(), proc.stderr


def test_rejected_rows_are_reported_not_fatal(tmp_path):
    cat = tmp_path / "catalog.csv"
    cat.write_bytes((FIX / "catalog.csv").read_bytes() + b"999999999,,dairy eggs > yogurt\n")
    proc = run_cli("build", "--catalog", str(cat), "--orders", str(FIX / "orders.csv"), "--out", str(tmp_path / "o"),
                   "--no-text", db=tmp_path / "c.sqlite")
    assert proc.returncode == 0, proc.stderr
    rej = pd.read_csv(tmp_path / "o" / "rejected_rows.csv")
    assert rej.iloc[0]["column"] == "title" and rej.iloc[0]["row"] == 2387  # 2,385 products + header + 1
    assert "row 2387" in proc.stderr


def test_ingest_writes_the_json_report_and_a_second_run_adds_nothing(tmp_path):
    import json

    db = tmp_path / "db.sqlite"
    args = ["ingest", "--workspace", "shop", "--catalog", str(FIX / "catalog.csv"), "--orders",
            str(FIX / "orders.csv"), "--database", f"sqlite:///{db}"]
    first = run_cli(*args, "--report", str(tmp_path / "r1.json"), db=db)
    assert first.returncode == 0, first.stderr
    rep = json.loads((tmp_path / "r1.json").read_text())
    files = {f["kind"]: f for f in rep["files"]}
    assert set(files["orders"]) >= {"path", "kind", "encoding", "delimiter", "rows_read", "rows_loaded",
                                    "rows_rejected", "rejected", "warnings", "cleaning"}
    assert files["catalog"]["rows_loaded"] == 2385 and files["orders"]["rows_loaded"] == 8443
    second = run_cli(*args, db=db)
    assert second.returncode == 0, second.stderr
    again = {f["kind"]: f for f in json.loads(second.stdout)["files"]}
    assert again["orders"]["skipped_as_already_imported"] and again["catalog"]["skipped_as_already_imported"]
    from core.store import list_workspaces, make_engine
    ws = list_workspaces(make_engine(f"sqlite:///{db}")).set_index("name")
    assert (ws.loc["shop", "products"], ws.loc["shop", "order_lines"]) == (2385, 8443)


def test_ingest_refusal_exits_2_with_the_reason_on_stderr(tmp_path):
    bad = tmp_path / "c.csv"
    bad.write_bytes(b"sku_code,label\n1,x\n")
    proc = run_cli("ingest", "--workspace", "shop", "--catalog", str(bad), "--database",
                   f"sqlite:///{tmp_path / 'db.sqlite'}", db=tmp_path / "db.sqlite")
    assert proc.returncode == 2
    assert "required column" in proc.stderr and "c.csv" in proc.stderr


def test_an_import_killed_halfway_leaves_the_earlier_data(tmp_path):
    """kill -9 during a large import: the database holds either all of it or none of it, never a part."""
    import signal
    import time

    from core.store import list_workspaces, make_engine

    db = tmp_path / "db.sqlite"
    first = run_cli("ingest", "--workspace", "shop", "--orders", str(FIX / "orders.csv"), "--database",
                    f"sqlite:///{db}", db=db)
    assert first.returncode == 0, first.stderr
    big = tmp_path / "big_orders.csv"
    with big.open("w") as f:
        f.write("order_id,product_id,customer_id\n")
        for i in range(400_000):
            f.write(f"B{i // 4},{i % 997},c{i % 5000}\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "core", "ingest", "--workspace", "shop", "--orders", str(big),
                             "--database", f"sqlite:///{db}"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(4.0)  # mid-import: reading/validating/writing 400,000 lines takes well over this
    finished_before_kill = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    lines = int(list_workspaces(make_engine(f"sqlite:///{db}")).set_index("name").loc["shop", "order_lines"])
    if finished_before_kill:
        assert lines == 8443 + 400_000
    else:
        assert lines == 8443  # the earlier import, intact; nothing of the killed one
