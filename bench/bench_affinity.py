"""Mine every item pair with pair_count >= 5 three ways and print time and memory ratios; never asserts.

    .venv/bin/python bench/bench_affinity.py [--dataset completejourney|online_retail|all]
        [--min-pair-count 5] [--repeats 3] [--mlxtend-timeout 600] [--no-mlxtend]

Data sets (each turned into a basket x item CSR once, by a child process, not timed):

completejourney  transactions.parquet (1,469,307 lines): basket_id x product_id, every basket and product
online_retail    online_retail.parquet (541,909 invoice lines) through the product's own cleaning: the
                 invoice-line preset, core.ingest.clean.classify_lines (cancellations, non-products,
                 non-positive quantities out) + basket_lines, catalog from
                 core.ingest.presets.catalog_from_invoice_lines

Methods (each run in a child process of its own, so that each has its own peak RSS):

ours     core.affinity.pair_stats(X, min_pair_count): counts, support, confidence, lift, leverage,
         conviction, jaccard, NPMI, one-sided Fisher p-values and Benjamini-Hochberg q-values, sorted frame
bare     scipy ``X.T @ X`` on the same float32 CSR (the co-occurrence count alone; the near-limit reference)
mlxtend  mlxtend ``fpgrowth(df, min_support, max_len=2)`` + ``association_rules(..., metric="confidence",
         min_threshold=0)`` on a bool DataFrame of the same baskets; stopped after --mlxtend-timeout seconds.
         Skipped with a message when mlxtend is not installed (it is a benchmark-only dependency:
         ``pip install mlxtend==0.25.0``, never in requirements.txt).

ours and bare take turns --repeats times (the order flips every round: a busy machine drifts); the
table shows the fastest and the median. Ratios are "ours / peer" from the same run. The script only
prints. See bench/README.md.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python bench/bench_affinity.py` from the repo root
    sys.path.insert(0, str(ROOT))

from bench.common import load_average, revision  # noqa: E402

from core.paths import shared_dir  # noqa: E402  (stdlib only: the parent stays small, see _run_child)

DATASETS = ("completejourney", "online_retail")
DEFAULT_DIRS = {"completejourney": shared_dir() / "datasets" / "completejourney",
                "online_retail": shared_dir() / "datasets" / "online_retail"}
FILES = {"completejourney": "transactions.parquet", "online_retail": "online_retail.parquet"}
INVOICE_PRESET = "Invoice lines (UCI Online Retail style)"


def _peak_rss_mib() -> float:
    """Peak RSS of this process's own address space: VmHWM (Linux), else ru_maxrss.

    VmHWM starts afresh at exec, unlike ru_maxrss, which Linux carries over from the parent.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# --- children ------------------------------------------------------------------------------------

def _prepare(dataset: str, src: Path, out: Path) -> dict:
    """Build the basket x item matrix of ``dataset`` and save it as ``out`` (npz); counts as a dict."""
    import numpy as np
    import pandas as pd

    from core import schema as S
    from core.baskets import build_baskets

    t0 = time.perf_counter()
    notes = []
    if dataset == "completejourney":
        tx = pd.read_parquet(src / FILES[dataset], columns=["basket_id", "product_id"])
        lines = pd.DataFrame({S.ORDER_ID: tx["basket_id"].astype(str), S.PRODUCT_ID: tx["product_id"].astype(str)})
        baskets = build_baskets(lines)
        notes.append(f"{len(tx):,} transaction lines, basket_id x product_id, nothing removed")
    else:
        from core.ingest.clean import basket_lines, classify_lines, cleaning_report
        from core.ingest.presets import apply_preset, catalog_from_invoice_lines

        raw = pd.read_parquet(src / FILES[dataset])
        orders = apply_preset(raw, INVOICE_PRESET, salt="bench")
        catalog = catalog_from_invoice_lines(raw)
        classes = classify_lines(orders, catalog)
        report = cleaning_report(classes, orders)
        lines = basket_lines(orders, classes)
        baskets = build_baskets(lines, item_ids=catalog[S.PRODUCT_ID].to_numpy())
        notes.append(f"{len(raw):,} invoice lines -> {report['product']:,} product lines "
                     f"({report['cancellation']:,} cancellation, {report['non_product']:,} non-product, "
                     f"{report['non_positive_quantity']:,} non-positive quantity lines out)")
    x = baskets.basket_items
    np.savez(out, indptr=x.indptr, indices=x.indices, shape=np.array(x.shape))
    sizes = np.diff(x.indptr)
    return {"baskets": int(x.shape[0]), "items": int(x.shape[1]), "lines": int(x.nnz),
            "largest_basket": int(sizes.max()), "mean_basket": float(sizes.mean()),
            "seconds": time.perf_counter() - t0, "notes": notes}


def _load_matrix(path: Path):
    """The saved basket x item matrix as float32 CSR, as core.baskets builds it."""
    import numpy as np
    import scipy.sparse as sp

    z = np.load(path)
    indices = z["indices"]
    return sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, z["indptr"]), shape=tuple(z["shape"]))


def _run_method(method: str, matrix: Path, min_pair_count: int, save: Path | None) -> dict:
    """Time one method on the saved matrix; with ``save``, write its pairs (a, b, support, confidence, lift)."""
    import numpy as np

    x = _load_matrix(matrix)
    n = x.shape[0]
    out: dict = {}
    if method == "ours":
        from core.affinity import pair_stats

        def run():
            return pair_stats(x, min_pair_count)
    elif method == "bare":
        def run():
            return x.T @ x
    else:  # mlxtend
        import pandas as pd
        from mlxtend import __version__ as mlxtend_version
        from mlxtend.frequent_patterns import association_rules, fpgrowth

        t0 = time.perf_counter()
        counts = np.bincount(x.indices, minlength=x.shape[1])
        # fpgrowth's first step keeps the items with support >= min_support; doing it here is the same
        # result and spares a dense bool frame over every item (mlxtend 0.25 densifies: df.values)
        cols = np.flatnonzero(counts >= min_pair_count)
        xs = x[:, cols].tocsr()
        dense = np.zeros(xs.shape, dtype=bool)
        dense[np.repeat(np.arange(n), np.diff(xs.indptr)), xs.indices] = True
        df = pd.DataFrame(dense, columns=cols, copy=False)
        # count >= m as a support; m/N can round up to a count of m + 1 in mlxtend's ceil(min_support * N)
        min_support = min_pair_count / n
        if math.ceil(min_support * n) != min_pair_count:
            min_support = (min_pair_count - 0.5) / n
        out.update(mlxtend_version=mlxtend_version, frame_seconds=time.perf_counter() - t0,
                   frame_shape=list(df.shape), min_support=min_support)

        def run():
            freq = fpgrowth(df, min_support=min_support, use_colnames=True, max_len=2)
            return association_rules(freq, num_itemsets=n, metric="confidence", min_threshold=0.0)

    import gc
    gc.collect()
    out["rss_start"] = _peak_rss_mib()
    c0, t0 = time.process_time(), time.perf_counter()
    res = run()
    out.update(seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0, rss_peak=_peak_rss_mib())
    if method == "ours":
        out["pairs"] = len(res) // 2
        out["basket_size_report"] = repr(res.attrs.get("basket_size_report"))
        if save:
            np.savez(save, a=res["antecedent"].to_numpy(), b=res["consequent"].to_numpy(),
                     support=res["support"].to_numpy(), confidence=res["confidence"].to_numpy(),
                     lift=res["lift"].to_numpy())
    elif method == "bare":
        out["nnz"] = int(res.nnz)
    else:
        out["pairs"] = len(res) // 2
        if save:
            a = np.array([next(iter(s)) for s in res["antecedents"]], dtype=np.int64)
            b = np.array([next(iter(s)) for s in res["consequents"]], dtype=np.int64)
            np.savez(save, a=a, b=b, support=res["support"].to_numpy(float),
                     confidence=res["confidence"].to_numpy(float), lift=res["lift"].to_numpy(float))
    return out


def _compare(ours: Path, peer: Path) -> dict:
    """Largest absolute differences in support, confidence and lift over the directed pairs both found."""
    import numpy as np
    import pandas as pd

    a, b = (pd.DataFrame(dict(np.load(p))) for p in (ours, peer))
    m = a.merge(b, on=["a", "b"], suffixes=("_ours", "_peer"))
    out = {"common": len(m), "only_ours": len(a) - len(m), "only_peer": len(b) - len(m)}
    for col in ("support", "confidence", "lift"):
        out[col] = float(np.abs(m[f"{col}_ours"] - m[f"{col}_peer"]).max()) if len(m) else float("nan")
    return out


def _child_main(args) -> int:
    if args.child == "prepare":
        res = _prepare(args.dataset, Path(args.src), Path(args.matrix))
    elif args.child == "compare":
        res = _compare(Path(args.ours), Path(args.peer))
    else:
        res = _run_method(args.child, Path(args.matrix), args.min_pair_count, Path(args.save) if args.save else None)
    print(json.dumps(res))
    return 0


# --- parent: runs the children, never loads data --------------------------------------------------

def _hwm_of(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _run_child(*args: str, timeout: float | None = None) -> dict:
    """This script with ``args`` in a fresh interpreter; its last stdout line is the JSON result.

    The parent imports nothing heavy, so each child's memory is its own. A child still running after
    ``timeout`` seconds is killed; its peak RSS so far (polled from /proc) is reported with
    ``{"timeout": seconds}``.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, text=True)
        hwm = 0.0
        while proc.poll() is None:
            hwm = max(hwm, _hwm_of(proc.pid) or 0.0)
            if timeout is not None and time.perf_counter() - t0 > timeout:
                proc.kill()
                proc.wait()
                return {"timeout": timeout, "rss_peak_polled": hwm}
            time.sleep(0.2)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-12:])
        return {"error": f"exited with {proc.returncode}:\n{tail}", "rss_peak_polled": hwm}
    return json.loads(stdout.strip().splitlines()[-1])



def _median(v: list) -> float:
    s = sorted(v)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def bench_dataset(name: str, src: Path, args, tmp: Path) -> None:
    print(f"\n== {name} ==", flush=True)
    path = src / FILES[name]
    if not path.is_file():
        print(f"skipped: {path} not found (pass --{name.replace('_', '-')}-dir)")
        return
    matrix = tmp / f"{name}.npz"
    prep = _run_child("--child", "prepare", "--dataset", name, "--src", str(src), "--matrix", str(matrix))
    if "error" in prep:
        print(f"skipped: preparing the baskets failed: {prep['error']}")
        return
    m = args.min_pair_count
    print(f"{prep['baskets']:,} baskets x {prep['items']:,} items, {prep['lines']:,} distinct basket lines "
          f"(mean basket {prep['mean_basket']:.1f} items, largest {prep['largest_basket']:,}); "
          f"prepared in {prep['seconds']:.1f} s (not timed)")
    for note in prep["notes"]:
        print(f"  {note}")

    runs: dict = {"ours": [], "bare": []}
    for r in range(args.repeats):
        for method in (("ours", "bare") if r % 2 == 0 else ("bare", "ours")):
            save = ["--save", str(tmp / f"{name}_ours.npz")] if method == "ours" and r == 0 else []
            res = _run_child("--child", method, "--matrix", str(matrix), "--min-pair-count", str(m), *save)
            if "error" in res:
                print(f"{method} failed: {res['error']}")
                return
            runs[method].append(res)
            print(f"  .. round {r + 1} {method}: {res['seconds']:.2f} s", file=sys.stderr, flush=True)

    mlx, cmp = None, None
    if args.no_mlxtend:
        mlx_note = "mlxtend: not run (--no-mlxtend)"
    elif importlib.util.find_spec("mlxtend") is None:
        mlx_note = "mlxtend: skipped, not installed (pip install mlxtend==0.25.0 into the venv for this benchmark only)"
    else:
        print(f"  .. mlxtend fpgrowth + association_rules (stopped after {args.mlxtend_timeout:.0f} s)",
              file=sys.stderr, flush=True)
        peer = tmp / f"{name}_mlxtend.npz"
        mlx = _run_child("--child", "mlxtend", "--matrix", str(matrix), "--min-pair-count", str(m),
                         "--save", str(peer), timeout=args.mlxtend_timeout)
        if "timeout" in mlx:
            mlx_note = (f"mlxtend: did not finish in {args.mlxtend_timeout:.0f} s (stopped; peak RSS by then "
                        f"{mlx['rss_peak_polled']:,.0f} MiB)")
        elif "error" in mlx:
            mlx_note = f"mlxtend: failed ({mlx['error']}; peak RSS {mlx.get('rss_peak_polled', 0):,.0f} MiB)"
        else:
            mlx_note = (f"mlxtend {mlx['mlxtend_version']}: fpgrowth(min_support={mlx['min_support']:.6g}, max_len=2) "
                        f"+ association_rules on a {mlx['frame_shape'][0]:,} x {mlx['frame_shape'][1]:,} bool "
                        f"frame (items with >= {m} baskets; frame built in {mlx['frame_seconds']:.1f} s, not timed)")
            cmp = _run_child("--child", "compare", "--ours", str(tmp / f"{name}_ours.npz"), "--peer", str(peer))

    o, b = runs["ours"], runs["bare"]
    best = {k: min(x["seconds"] for x in v) for k, v in runs.items()}
    med = {k: _median([x["seconds"] for x in v]) for k, v in runs.items()}
    cpu = {k: min(x["cpu_seconds"] for x in v) for k, v in runs.items()}
    rss = {k: max(x["rss_peak"] for x in v) for k, v in runs.items()}
    base = {k: max(x["rss_start"] for x in v) for k, v in runs.items()}
    print(f"\n{'method':<44} {'best s':>8} {'median s':>9} {'cpu s':>7} {'peak RSS':>10} {'after load':>11}  result")
    print("-" * 112)
    print(f"{'ours: core.affinity.pair_stats(X, ' + str(m) + ')':<44} {best['ours']:>8.2f} {med['ours']:>9.2f} "
          f"{cpu['ours']:>7.2f} {rss['ours']:>6,.0f} MiB {base['ours']:>7,.0f} MiB  {o[0]['pairs']:,} pairs "
          f"(x2 directed rows), every statistic + p/q")
    print(f"{'bare: scipy X.T @ X (count only)':<44} {best['bare']:>8.2f} {med['bare']:>9.2f} {cpu['bare']:>7.2f} "
          f"{rss['bare']:>6,.0f} MiB {base['bare']:>7,.0f} MiB  nnz {b[0]['nnz']:,} (both triangles + diagonal)")
    if mlx and "seconds" in mlx:
        print(f"{'mlxtend: fpgrowth(max_len=2) + association_rules':<44} {mlx['seconds']:>8.2f} {'':>9} "
              f"{mlx['cpu_seconds']:>7.2f} {mlx['rss_peak']:>6,.0f} MiB {mlx['rss_start']:>7,.0f} MiB  "
              f"{mlx['pairs']:,} pairs")
    elif mlx:
        print(f"{'mlxtend: fpgrowth(max_len=2) + association_rules':<44} "
              f"{'> ' + format(args.mlxtend_timeout, '.0f') if 'timeout' in mlx else 'failed':>8} {'':>9} {'':>7} "
              f"{mlx.get('rss_peak_polled', 0):>6,.0f} MiB {'':>11}  stopped")
    print(f"({args.repeats} rounds of ours and bare, alternating; 'best' is the fastest, RSS the highest; "
          f"peak RSS includes the loaded matrix ('after load'))")
    print(f"\nratios (ours / peer, same run):")
    print(f"  time   ours / bare X.T @ X: {best['ours'] / best['bare']:.2f}x best, "
          f"{med['ours'] / med['bare']:.2f}x median, {cpu['ours'] / cpu['bare']:.2f}x CPU  (target <= 1.5x)")
    print(f"  memory ours / bare X.T @ X: {rss['ours'] / rss['bare']:.2f}x peak RSS, "
          f"{(rss['ours'] - base['ours']) / max(rss['bare'] - base['bare'], 1e-9):.2f}x above the loaded matrix "
          f"({rss['ours'] - base['ours']:,.0f} vs {rss['bare'] - base['bare']:,.0f} MiB)")
    if mlx and "seconds" in mlx:
        print(f"  time   ours / mlxtend: {best['ours'] / mlx['seconds']:.4f}x "
              f"(mlxtend {mlx['seconds'] / best['ours']:,.0f}x slower)")
        print(f"  memory ours / mlxtend: {rss['ours'] / mlx['rss_peak']:.2f}x peak RSS")
    elif mlx and "timeout" in mlx:
        print(f"  time   ours / mlxtend: < {best['ours'] / args.mlxtend_timeout:.4f}x (mlxtend stopped at "
              f"{args.mlxtend_timeout:.0f} s, > {args.mlxtend_timeout / best['ours']:,.0f}x slower)")
        if mlx["rss_peak_polled"]:
            print(f"  memory ours / mlxtend: <= {rss['ours'] / mlx['rss_peak_polled']:.2f}x peak RSS "
                  f"(mlxtend's peak when stopped)")
    print(mlx_note)
    if cmp and "error" not in cmp:
        print(f"agreement over {cmp['common']:,} directed pairs both found ({cmp['only_ours']:,} only ours, "
              f"{cmp['only_peer']:,} only mlxtend): largest |difference| support {cmp['support']:.3g}, "
              f"confidence {cmp['confidence']:.3g}, lift {cmp['lift']:.3g}")
    elif cmp:
        print(f"comparison failed: {cmp['error']}")
    print(f"basket-size cap: {o[0]['basket_size_report']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=(*DATASETS, "all"), default="all")
    ap.add_argument("--min-pair-count", type=int, default=5, help="pairs held by at least this many baskets (5)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds of ours and bare, alternating (3)")
    ap.add_argument("--mlxtend-timeout", type=float, default=600.0,
                    help="seconds before the mlxtend child is stopped (600 = the issue's 10 minutes)")
    ap.add_argument("--no-mlxtend", action="store_true", help="leave mlxtend out")
    ap.add_argument("--completejourney-dir", type=Path, default=DEFAULT_DIRS["completejourney"])
    ap.add_argument("--online-retail-dir", type=Path, default=DEFAULT_DIRS["online_retail"])
    # internal: one child's work
    ap.add_argument("--child", choices=("prepare", "ours", "bare", "mlxtend", "compare"), help=argparse.SUPPRESS)
    for opt in ("--src", "--matrix", "--save", "--ours", "--peer"):
        ap.add_argument(opt, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child_main(args)
    if args.min_pair_count < 1 or args.repeats < 1 or args.mlxtend_timeout <= 0:
        ap.error("--min-pair-count and --repeats must be >= 1, --mlxtend-timeout > 0")

    print(f"bench_affinity: all pairs with pair_count >= {args.min_pair_count}; {load_average()}")
    print(f"code: {revision('core/affinity.py')}; python {sys.version.split()[0]}")
    t_all = time.perf_counter()
    names = DATASETS if args.dataset == "all" else (args.dataset,)
    dirs = {"completejourney": args.completejourney_dir, "online_retail": args.online_retail_dir}
    with tempfile.TemporaryDirectory(prefix="bench_affinity_") as tmp:
        for name in names:
            t0 = time.perf_counter()
            bench_dataset(name, dirs[name], args, Path(tmp))
            print(f"({name}: {time.perf_counter() - t0:.0f} s in all; {load_average()})", flush=True)
    print(f"\ntotal {time.perf_counter() - t_all:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
