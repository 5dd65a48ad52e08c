"""Time a large CSV import against plain pandas and print rows/s and peak memory; never asserts.

    .venv/bin/python bench/bench_ingest.py [--dataset completejourney|online_retail|all] [--max-lines N]
        [--repeats N] [--profile] [--profile-top N]

Data sets (written once to CSV in a temp folder by this script, not timed):

completejourney  transactions.parquet (1,469,307 lines) as the canonical orders CSV: order_id = basket_id,
                 product_id, customer_id = household_id, quantity, price = sales_value,
                 ordered_at = transaction_timestamp
online_retail    online_retail.parquet (541,909 invoice lines) with its original UCI headers (InvoiceNo,
                 StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country)

Methods (each file, each method in a child process of its own, so peak RSS is per method):

ours   core.workspace.import_files(engine, ws, {"orders": (name, bytes)}) into a fresh temp SQLite file:
       read (encoding and delimiter sniffing), column mapping, validation, cleaning, one transaction;
       streamed in chunks of 200,000 records (number and date formats checked against every value)
peer   pandas.read_csv(path) + DataFrame.to_sql(..., if_exists="append", index=False, chunksize=20000)
       into a fresh temp SQLite file through a SQLAlchemy engine: no validation at all

Ratios are "ours / peer", measured in the same run on the same file: rows/s above 1.0x means ours is
faster, peak RSS below 1.0x means ours needs less memory. See bench/README.md.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python bench/bench_ingest.py` from the repo root
    sys.path.insert(0, str(ROOT))

from bench.common import load_average, revision  # noqa: E402

SHARED = ROOT.parent / "shared" / "datasets"
DEFAULT_CJ = SHARED / "completejourney"
DEFAULT_RETAIL = SHARED / "online_retail"
METHODS = ("ours", "peer")
PEER_CHUNKSIZE = 20_000
#: the issue's memory target for the 1.47M Complete Journey lines
RSS_TARGET_MIB = 1.5 * 1024


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process so far: less sensitive than wall time to other
    processes sharing the cores."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


# --- the two methods, each run in a child process ------------------------------------------------

def _child(method: str, csv: Path, db: Path, profile_top: int) -> dict:
    """Import ``csv`` into the fresh SQLite file ``db`` with ``method``; timings and counts as a dict.

    The engine (and, for ours, the tables) is created before the clock starts; the clock covers
    reading the file from disk through the commit.
    """
    if method == "ours":
        from core import schema as S
        from core.store import make_engine
        from core.workspace import import_files

        engine = make_engine(f"sqlite:///{db}")

        def run():
            report = import_files(engine, "bench", {S.ORDERS: (csv.name, csv.read_bytes())})[0]
            v = report.validation
            return {"rows_read": v.rows_read, "rows_loaded": v.rows_loaded, "rows_rejected": v.rows_rejected,
                    "encoding": v.encoding, "cleaning": report.cleaning}

        count_sql = "SELECT count(*) FROM order_lines"
    else:
        import pandas as pd
        from sqlalchemy import create_engine

        engine = create_engine(f"sqlite:///{db}")

        def run():
            frame = pd.read_csv(csv)
            frame.to_sql("orders", engine, if_exists="append", index=False, chunksize=PEER_CHUNKSIZE)
            return {"rows_read": len(frame), "rows_loaded": len(frame)}

        count_sql = "SELECT count(*) FROM orders"
    from sqlalchemy import text

    rss_start = peak_rss_mib()
    # CPU time, not wall time: on a shared machine the wall clock charges other processes to whatever runs
    prof = cProfile.Profile(time.process_time) if profile_top else None
    if prof:
        prof.enable()
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    out = run()
    seconds = time.perf_counter() - t0
    cpu = cpu_seconds() - cpu0
    if prof:
        prof.disable()
    out.update(seconds=seconds, cpu=cpu, rss_start=rss_start, rss_peak=peak_rss_mib())
    with engine.connect() as conn:
        out["rows_stored"] = int(conn.execute(text(count_sql)).scalar())
    engine.dispose()
    if prof:
        parts = []
        for sort in ("tottime", "cumulative"):
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(sort).print_stats(profile_top)
            body = buf.getvalue()
            start = body.find("   ncalls")
            parts.append(f"-- cProfile {method}, top {profile_top} by {sort} --\n"
                         + (body[start:] if start >= 0 else body).rstrip())
        out["profile"] = "\n\n".join(parts)
    return out


def _run_script(*args: str) -> dict:
    """This script with ``args`` in a fresh interpreter; its last stdout line is the JSON result.

    Linux carries a process's peak RSS across fork + exec, so a child's ``ru_maxrss`` can never be
    below its parent's: the parent therefore never imports pandas or loads data (it stays ~20 MiB),
    and the CSV files are written by a child too.
    """
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], capture_output=True, text=True,
                          cwd=ROOT)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return {"error": f"child exited with {proc.returncode}:\n{tail}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_child(method: str, csv: Path, db: Path, profile_top: int = 0) -> dict:
    """Run :func:`_child` in a fresh interpreter (its own peak RSS)."""
    return _run_script("--child", method, "--csv", str(csv), "--db", str(db), "--profile-top", str(profile_top))


# --- data sets -----------------------------------------------------------------------------------

@dataclass
class Input:
    name: str
    csv: Path
    lines: int
    note: str


def completejourney_csv(src: Path, tmp: Path, max_lines: int | None) -> dict:
    """The Complete Journey transactions as the canonical orders CSV: ``{"csv", "lines", "note"}`` or
    ``{"skip": why}``."""
    import pandas as pd

    path = src / "transactions.parquet"
    if not path.is_file():
        return {"skip": f"{path} not found"}
    tx = pd.read_parquet(path, columns=["basket_id", "product_id", "household_id", "quantity", "sales_value",
                                        "transaction_timestamp"])
    if max_lines is not None:
        tx = tx.iloc[:max_lines]
    out = pd.DataFrame({"order_id": tx["basket_id"], "product_id": tx["product_id"],
                        "customer_id": tx["household_id"], "quantity": tx["quantity"], "price": tx["sales_value"],
                        "ordered_at": tx["transaction_timestamp"]})
    csv = tmp / "completejourney_orders.csv"
    out.to_csv(csv, index=False)
    return {"csv": str(csv), "lines": len(out), "note": f"{path}; canonical headers"}


def online_retail_csv(src: Path, tmp: Path, max_lines: int | None) -> dict:
    """The UCI Online Retail file as CSV with its original headers (returns as :func:`completejourney_csv`).

    Quantity and CustomerID are doubles in the Parquet copy (an R artefact, see its SOURCE.md); they
    are written as the integers the UCI file holds (``17850``, not ``17850.0``), blanks kept blank.
    """
    import pandas as pd

    path = src / "online_retail.parquet"
    if not path.is_file():
        return {"skip": f"{path} not found"}
    frame = pd.read_parquet(path)
    if max_lines is not None:
        frame = frame.iloc[:max_lines]
    frame = frame.assign(Quantity=frame["Quantity"].astype("Int64"), CustomerID=frame["CustomerID"].astype("Int64"))
    csv = tmp / "online_retail.csv"
    frame.to_csv(csv, index=False)
    return {"csv": str(csv), "lines": len(frame), "note": f"{path}; UCI headers"}


# --- report --------------------------------------------------------------------------------------


def bench_one(inp: Input, tmp: Path, repeats: int, profile_top: int) -> None:
    """Run ours and the peer ``repeats`` times each, taking turns, and print the table and ratios."""
    mib = inp.csv.stat().st_size / 2**20
    print(f"\n== {inp.name}: {inp.lines:,} lines, {mib:.1f} MiB of CSV ({inp.note}) ==", flush=True)
    runs: dict[str, list[dict]] = {m: [] for m in METHODS}
    for r in range(repeats):
        order = METHODS if r % 2 == 0 else METHODS[::-1]  # taking turns: drift hits both alike
        for method in order:
            db = tmp / f"{inp.name}_{method}_{r}.sqlite"
            res = run_child(method, inp.csv, db, profile_top if method == "ours" and r == 0 else 0)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            if "error" in res:
                print(f"  {method}: FAILED\n{res['error']}")
                return
            runs[method].append(res)
            print(f"  .. {method} run {r + 1}/{repeats}: {res['seconds']:.1f} s, peak RSS "
                  f"{res['rss_peak']:,.0f} MiB", file=sys.stderr, flush=True)
    best = {m: min(rs, key=lambda x: x["seconds"]) for m, rs in runs.items()}
    rss = {m: max(x["rss_peak"] for x in rs) for m, rs in runs.items()}
    labels = {"ours": "ours: import_files (validate + clean + store)",
              "peer": f"peer: read_csv + to_sql(chunksize={PEER_CHUNKSIZE:,})"}
    w = max(len(v) for v in labels.values())
    print(f"{'method':<{w}} {'rows':>11} {'seconds':>9} {'rows/s':>10} {'CPU s':>7} {'peak RSS':>10} {'at start':>9}  note")
    print("-" * (w + 72))
    for m in METHODS:
        b = best[m]
        note = f"{b['rows_stored']:,} rows stored"
        if m == "ours":
            note += f", {b['rows_rejected']:,} rejected; encoding {b['encoding']}"
        if repeats > 1:
            note += f"; best of {repeats}, RSS the highest"
        print(f"{labels[m]:<{w}} {inp.lines:>11,} {b['seconds']:>9.2f} {inp.lines / b['seconds']:>10,.0f} "
              f"{b['cpu']:>7.2f} {rss[m]:>7,.0f} MiB {b['rss_start']:>5,.0f} MiB  {note}")
    speed = best["peer"]["seconds"] / best["ours"]["seconds"]
    cpu = min(x["cpu"] for x in runs["peer"]) / min(x["cpu"] for x in runs["ours"])
    print("\nratios (ours / peer, same file, same run):")
    print(f"  rows/s: {speed:.2f}x (target >= 1.00x with validation included)")
    print(f"  rows per CPU second: {cpu:.2f}x (the same comparison, less sensitive to a busy machine)")
    print(f"  peak RSS: {rss['ours'] / rss['peer']:.2f}x ({rss['ours']:,.0f} vs {rss['peer']:,.0f} MiB; "
          f"target for the 1.47M Complete Journey lines: under {RSS_TARGET_MIB:,.0f} MiB)")
    cleaning = best["ours"].get("cleaning")
    if cleaning:
        print("  cleaning (ours): " + ", ".join(f"{k} {v:,}" for k, v in cleaning.items()))
    if best["ours"].get("profile"):
        print("\n" + best["ours"]["profile"])


WRITERS = {"completejourney": completejourney_csv, "online_retail": online_retail_csv}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=("completejourney", "online_retail", "all"), default="all")
    ap.add_argument("--max-lines", type=int, default=None, metavar="N", help="first N lines only; default all")
    ap.add_argument("--repeats", type=int, default=1, metavar="N",
                    help="runs per method, taking turns; the fastest is shown (default 1)")
    ap.add_argument("--profile", action="store_true",
                    help="run ours under cProfile (first run; slower) and print the top functions")
    ap.add_argument("--profile-top", type=int, default=25, metavar="N")
    ap.add_argument("--completejourney-dir", type=Path, default=DEFAULT_CJ, metavar="PATH")
    ap.add_argument("--online-retail-dir", type=Path, default=DEFAULT_RETAIL, metavar="PATH")
    # internal: the children (one measured run; writing a data set's CSV)
    ap.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    ap.add_argument("--write", choices=tuple(WRITERS), help=argparse.SUPPRESS)
    ap.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.csv, args.db, args.profile_top)))
        return 0
    if args.write:
        import pandas as pd

        out = WRITERS[args.write](args.src, args.csv, args.max_lines)
        print(json.dumps({**out, "pandas": pd.__version__}))
        return 0
    for name in ("max_lines", "repeats", "profile_top"):
        v = getattr(args, name)
        if v is not None and v < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1, got {v}")

    print(f"Cross-Sell Studio ingest benchmark: python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {load_average()}")
    print(f"code: {revision()}")
    names = tuple(WRITERS) if args.dataset == "all" else (args.dataset,)
    src = {"completejourney": args.completejourney_dir, "online_retail": args.online_retail_dir}
    t_all = time.perf_counter()
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"bench_ingest_{name}_") as d:
            tmp = Path(d)
            t0 = time.perf_counter()
            extra = ["--max-lines", str(args.max_lines)] if args.max_lines else []
            made = _run_script("--write", name, "--src", str(src[name]), "--csv", str(tmp), *extra)
            if "skip" in made or "error" in made:
                print(f"\n== {name}: skipped: {made.get('skip') or made['error']} ==")
                continue
            inp = Input(name, Path(made["csv"]), made["lines"],
                        f"{made['note']}; written in {time.perf_counter() - t0:.1f} s, not timed; "
                        f"pandas {made['pandas']}")
            bench_one(inp, tmp, args.repeats, args.profile_top if args.profile else 0)
    print(f"\ntotal {time.perf_counter() - t_all:.1f} s; {load_average()}; this process's peak RSS "
          f"{peak_rss_mib():,.0f} MiB (a child's ru_maxrss starts from it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
