"""Time every stage of the Cross-Sell Studio pipeline and print a table; never asserts on time.

    .venv/bin/python bench/bench_pipeline.py [--dataset demo|completejourney|all] [--max-lines N]
        [--max-texts N] [--customers N] [--torch-threads N] [--profile STAGE ...]

Stages (each timed on its own, in this order, on one data set):

ingest         core.ingest.load_table on the CSV bytes of the catalog and of the orders
store          core.workspace.import_files into a fresh temp SQLite file, then load_workspace back
baskets        core.baskets.build_baskets over the catalog's product ids
embeddings     core.embeddings.Encoder + embed_cached against an empty temp DB (cold), then again (warm);
               peer: a bare ``SentenceTransformer(path).encode(texts, batch_size=64, normalize_embeddings=True)``
pairs          core.affinity.pair_stats(min_pair_count=2); peer: a bare scipy ``X.T @ X`` on the same matrix
build_model    core.pipeline.build_model with the warm embedding cache
recommend      core.recommend.CrossCategoryHybrid.recommend(customer, k=10) for up to 1,000 customers,
               then the same customers through recommend_many (batched), where core has it

Ratios are "engine seconds / peer seconds" measured in the same run on the same input, so they
say how much the engine adds on top of the library work it cannot avoid (1.0x = no overhead).
See bench/README.md.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python bench/bench_pipeline.py` from the repo root
    sys.path.insert(0, str(ROOT))

from bench.common import load_average, revision  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from core import schema as S  # noqa: E402
from core.paths import shared_dir

DEFAULT_CJ = shared_dir() / "datasets" / "completejourney"
STAGES = ("ingest", "store", "baskets", "embeddings", "pairs", "build_model", "recommend")
CJ_DEFAULT_MAX_TEXTS = 20_000
FAST_S, FAST_REPEATS = 1.0, 3
EMBED_BLOCKS = 8


# --- timing table ------------------------------------------------------------------------------

@dataclass
class Row:
    stage: str
    rows: int
    unit: str
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class Bench:
    """Collects timed rows, optional cProfile output per stage, ratios and notes for one data set."""

    name: str
    profile: set
    profile_top: int = 15
    rows: list = field(default_factory=list)
    ratios: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    profiles: list = field(default_factory=list)

    def time(self, key: str, label: str, fn, rows: int, unit: str = "rows", note: str = "", pure: bool = False):
        """Run ``fn()``, record its wall time under ``label``; profile it when ``key`` was asked for.

        ``pure`` calls (no side effects) that take under :data:`FAST_S` are run :data:`FAST_REPEATS`
        times and the fastest is kept: on a shared machine one short run is mostly noise.
        """
        gc.collect()
        prof = cProfile.Profile() if key in self.profile else None
        if prof:
            prof.enable()
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        if prof:
            prof.disable()
            self.profiles.append((label, prof))
            note = (note + "; " if note else "") + "cProfile on (slower)"
        elif pure and dt < FAST_S:
            for _ in range(FAST_REPEATS - 1):
                gc.collect()
                t0 = time.perf_counter()
                fn()
                dt = min(dt, time.perf_counter() - t0)
            note = (note + "; " if note else "") + f"best of {FAST_REPEATS}"
        self.rows.append(Row(label, int(rows), unit, dt, note))
        print(f"  .. {label}: {dt:.2f} s", file=sys.stderr, flush=True)
        return out, dt

    def note(self, text: str) -> None:
        """Put ``text`` first in the note of the last row (keeps 'best of 3' / 'cProfile on')."""
        old = self.rows[-1].note
        self.rows[-1].note = text + ("; " + old if old else "")

    def print_table(self) -> None:
        w = max(40, *(len(r.stage) for r in self.rows)) if self.rows else 40
        print(f"{'stage':<{w}} {'rows':>11} {'unit':<9} {'seconds':>9} {'rows/s':>12}  note")
        print("-" * (w + 48))
        for r in self.rows:
            print(f"{r.stage:<{w}} {r.rows:>11,} {r.unit:<9} {r.seconds:>9.3f} {r.rate:>12,.0f}  {r.note}")
        if self.ratios:
            print("\nratios (engine seconds / peer seconds, same input, same run; 1.00x = no overhead):")
            for line in self.ratios:
                print(f"  {line}")
        if self.notes:
            print("\nnotes:")
            for line in self.notes:
                print(f"  - {line}")

    def print_profiles(self) -> None:
        for label, prof in self.profiles:
            for sort in ("tottime", "cumulative"):
                buf = io.StringIO()
                st = pstats.Stats(prof, stream=buf)
                st.strip_dirs().sort_stats(sort).print_stats(self.profile_top)
                text = buf.getvalue()
                start = text.find("   ncalls")
                print(f"\n-- cProfile [{self.name}] {label}, top {self.profile_top} by {sort} --")
                print(text[start:].rstrip() if start >= 0 else text.rstrip())


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# --- data sets ---------------------------------------------------------------------------------

@dataclass
class Inputs:
    """Canonical CSV files of one data set: {kind: path}, plus what was done to make them."""

    name: str
    files: dict
    notes: list


def _cut_at_basket(frame: pd.DataFrame, max_lines: int | None, order_col: str) -> tuple[pd.DataFrame, str]:
    """First ``max_lines`` lines, shortened to end on a basket boundary (lines of a basket are contiguous)."""
    if max_lines is None or len(frame) <= max_lines:
        return frame, ""
    head = frame.iloc[:max_lines]
    last = head[order_col].iloc[-1]
    if frame[order_col].iloc[max_lines] == last:  # the last basket goes on past the cut: drop it whole
        head = head[head[order_col] != last]
    return head, (f"--max-lines {max_lines:,}: first {len(head):,} of {len(frame):,} order lines "
                  f"(cut on a basket boundary)")


def demo_inputs(tmp: Path, max_lines: int | None) -> Inputs:
    from core.workspace import DEMO_DIR, DEMO_FILES

    files = {k: DEMO_DIR / f for k, f in DEMO_FILES.items()}
    notes = []
    if max_lines is not None:
        orders = pd.read_csv(files[S.ORDERS], dtype=str, keep_default_na=False)
        cut, msg = _cut_at_basket(orders, max_lines, S.ORDER_ID)
        if msg:
            path = tmp / "orders.csv"
            cut.to_csv(path, index=False)
            files[S.ORDERS] = path
            notes.append(msg)
    return Inputs("demo", files, notes)


def completejourney_inputs(src: Path, tmp: Path, max_lines: int | None) -> Inputs:
    """Write Complete Journey as the canonical catalog and orders CSV files (see bench/README.md).

    catalog: product_id; title = product_type (else product_category, else department) plus
    ", <package_size>" when known; category = "department > product_category > product_type".
    orders: order_id = basket_id, product_id, customer_id = household_id, quantity,
    price = sales_value / quantity (unit price; sales_value where quantity is 0).
    Nothing is filtered here: zero quantities, fuel lines and products missing from the catalog
    reach ingest exactly as a user's upload would.
    """
    t0 = time.perf_counter()
    p = pd.read_csv(src / "products.csv", dtype=str, keep_default_na=False, na_values=[""])
    base = p["product_type"].fillna(p["product_category"]).fillna(p["department"]).fillna("product " + p["product_id"])
    title = base.where(p["package_size"].isna(), base + ", " + p["package_size"].fillna(""))
    levels = p[["department", "product_category", "product_type"]]
    category = [" > ".join(x for x in row if isinstance(x, str)) for row in levels.itertuples(index=False)]
    catalog = pd.DataFrame({S.PRODUCT_ID: p["product_id"], S.TITLE: title, S.CATEGORY: category})

    tx = pd.read_parquet(src / "transactions.parquet",
                         columns=["basket_id", "product_id", "household_id", "quantity", "sales_value"])
    qty = tx["quantity"].to_numpy()
    price = np.where(qty > 0, tx["sales_value"].to_numpy() / np.maximum(qty, 1), tx["sales_value"].to_numpy())
    orders = pd.DataFrame({S.ORDER_ID: tx["basket_id"].astype(str), S.PRODUCT_ID: tx["product_id"].astype(str),
                           S.CUSTOMER_ID: tx["household_id"].astype(str), S.QUANTITY: qty,
                           S.PRICE: np.round(price, 2)})
    orders, msg = _cut_at_basket(orders, max_lines, S.ORDER_ID)
    files = {S.CATALOG: tmp / "cj_catalog.csv", S.ORDERS: tmp / "cj_orders.csv"}
    catalog.to_csv(files[S.CATALOG], index=False)
    orders.to_csv(files[S.ORDERS], index=False)
    notes = [f"canonical CSVs written in {time.perf_counter() - t0:.1f} s (not a stage): "
             f"{len(catalog):,} products, {len(orders):,} order lines"]
    if msg:
        notes.append(msg)
    return Inputs("completejourney", files, notes)


# --- the stages --------------------------------------------------------------------------------

def run_dataset(inputs: Inputs, tmp: Path, args) -> Bench:
    from sentence_transformers import SentenceTransformer

    from core.affinity import pair_stats
    from core.baskets import build_baskets
    from core.embeddings import Encoder, embed_cached, product_texts
    from core.ingest import load_table
    from core.pipeline import BuildSettings, build_model
    from core.recommend import CrossCategoryHybrid
    from core.store import load_workspace, make_engine
    from core.workspace import import_files

    b = Bench(inputs.name, set(args.profile or ()), args.profile_top)
    b.notes.extend(inputs.notes)
    data = {k: (p.name, p.read_bytes()) for k, p in inputs.files.items()}
    mib = sum(len(v[1]) for v in data.values()) / 2**20

    # ingest -------------------------------------------------------------------------------
    ingest_s = 0.0
    results = {}
    for kind in (S.CATALOG, S.ORDERS):
        name, raw = data[kind]
        res, dt = b.time("ingest", f"ingest: load_table {kind} ({name})", lambda: load_table(raw, name, kind),
                         rows=raw.count(b"\n") - 1, note=f"{len(raw) / 2**20:.1f} MiB", pure=True)
        b.rows[-1].rows = res.rows_read  # records, not newlines (quoted cells may hold line breaks)
        results[kind] = res
        ingest_s += dt
        if res.rows_rejected:
            b.rows[-1].note += f"; {res.rows_rejected:,} rows rejected"
    n_lines_in = results[S.ORDERS].rows_read
    n_products_in = results[S.CATALOG].rows_read

    # store --------------------------------------------------------------------------------
    engine = make_engine(f"sqlite:///{tmp / f'{inputs.name}_store.sqlite'}")
    _, dt = b.time("store", "store: import_files -> fresh SQLite", lambda: import_files(engine, "bench", data),
                   rows=n_products_in + n_lines_in)
    b.note(f"includes load_table again (~{ingest_s:.1f} s); write part ~{max(dt - ingest_s, 0):.1f} s")
    ws, _ = b.time("store", "store: load_workspace <- SQLite", lambda: load_workspace(engine, "bench"),
                   rows=n_products_in + n_lines_in, pure=True)
    engine.dispose()
    catalog, orders = ws.catalog, ws.orders
    b.notes.append(f"{len(catalog):,} products and {len(orders):,} order lines stored "
                   f"({mib:.1f} MiB of CSV)")

    # baskets ------------------------------------------------------------------------------
    item_ids = catalog[S.PRODUCT_ID].astype(str).to_numpy(dtype=object)
    baskets, _ = b.time("baskets", "baskets: build_baskets", lambda: build_baskets(orders, item_ids),
                        rows=len(orders), pure=True)
    x = baskets.basket_items
    b.note(f"{x.shape[0]:,} baskets x {x.shape[1]:,} items, nnz {x.nnz:,}")

    # embeddings ---------------------------------------------------------------------------
    texts_all = product_texts(catalog)
    max_texts = args.max_texts
    if max_texts is None and inputs.name == "completejourney":
        max_texts = CJ_DEFAULT_MAX_TEXTS
    texts = list(texts_all.to_numpy()[:max_texts] if max_texts else texts_all.to_numpy())
    n_distinct = len(set(texts))
    if len(texts) < len(texts_all):
        b.notes.append(f"embedding benchmark limited to the first {len(texts):,} of {len(texts_all):,} product "
                       f"texts (--max-texts {max_texts:,}); {n_distinct:,} of them distinct")
    else:
        b.notes.append(f"embedding benchmark on all {len(texts):,} product texts ({n_distinct:,} distinct)")
    encoder = Encoder()
    t0 = time.perf_counter()
    _ = encoder.model
    encoder.encode(texts[:64])  # warm-up: first-call allocations are not the steady state
    b.notes.append(f"Encoder model load + warm-up {time.perf_counter() - t0:.1f} s (not timed); "
                   f"torch threads {_torch_threads()}")
    emb_engine = make_engine(f"sqlite:///{tmp / f'{inputs.name}_emb.sqlite'}")
    t0 = time.perf_counter()
    bare_model = SentenceTransformer(str(encoder.path), device="cpu")
    bare_model.encode(texts[:64], batch_size=64, normalize_embeddings=True)
    b.notes.append(f"bare SentenceTransformer load + warm-up {time.perf_counter() - t0:.1f} s (not timed)")

    # Engine and peer take turns block by block (the order flipping each block), so a burst of
    # background load hits both alike; one long run each drifted by up to 4x on a shared machine.
    uniq = list(dict.fromkeys(texts))
    dup_heavy = len(uniq) < 0.95 * len(texts)  # only then is "distinct texts only" a different workload
    blocks = [blk for blk in np.array_split(np.arange(len(texts)), EMBED_BLOCKS) if len(blk)]
    seen: set = set()
    t_cold = t_bare = t_bare_u = 0.0
    n_new = 0
    vec_parts, bare_parts = [], []
    prof = cProfile.Profile() if "embeddings" in b.profile else None
    for i, blk in enumerate(blocks):
        chunk = [texts[j] for j in blk]
        fresh = [t for t in dict.fromkeys(chunk) if t not in seen]  # what embed_cached must encode now
        seen.update(fresh)

        def run_cold():
            if prof:
                prof.enable()
            out = embed_cached(chunk, encoder, emb_engine)
            if prof:
                prof.disable()
            return out

        jobs = [("cold", run_cold),
                ("bare", lambda: bare_model.encode(chunk, batch_size=64, normalize_embeddings=True))]
        if dup_heavy and fresh:
            jobs.append(("bare_u", lambda: bare_model.encode(fresh, batch_size=64, normalize_embeddings=True)))
        for key, fn in (jobs if i % 2 == 0 else jobs[::-1]):
            gc.collect()
            t0 = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t0
            if key == "cold":
                t_cold += dt
                vec_parts.append(out[0])
                n_new += out[1]
            elif key == "bare":
                t_bare += dt
                bare_parts.append(out)
            else:
                t_bare_u += dt
        print(f"  .. embeddings block {i + 1}/{len(blocks)}: cold {t_cold:.1f} s, bare {t_bare:.1f} s so far",
              file=sys.stderr, flush=True)
    inter = f"interleaved with the peer in {len(blocks)} blocks"
    b.rows.append(Row("embeddings: embed_cached cold (empty DB)", len(texts), "texts", t_cold,
                      f"{n_new:,} distinct texts encoded and stored; {inter}"
                      + ("; cProfile on (slower)" if prof else "")))
    if prof:
        b.profiles.append(("embeddings: embed_cached cold (empty DB)", prof))
    (vecs2, n_new2), warm = b.time("embeddings", "embeddings: embed_cached warm (same DB)",
                                   lambda: embed_cached(texts, encoder, emb_engine),
                                   rows=len(texts), unit="texts", pure=True)
    b.note(f"{n_new2:,} encoded now; cache hits only" if n_new2 == 0 else f"{n_new2:,} encoded now")
    b.rows.append(Row("peer: bare SentenceTransformer.encode", len(texts), "texts", t_bare,
                      f"all texts, duplicates included; {inter}"))
    if dup_heavy:
        b.rows.append(Row("peer: bare encode, distinct texts only", len(uniq), "texts", t_bare_u, inter))
    vecs = np.vstack(vec_parts) if vec_parts else np.zeros((0, 1), dtype=np.float32)
    bare_vecs = np.vstack(bare_parts) if bare_parts else vecs
    max_diff = float(np.abs(vecs - np.asarray(bare_vecs, dtype=np.float32)).max()) if len(texts) else 0.0
    cold, bare = t_cold, t_bare
    b.ratios.append(f"embed_cached cold / bare encode (same {len(texts):,} texts): {cold / bare:.2f}x "
                    f"({len(texts) / cold:,.0f} vs {len(texts) / bare:,.0f} texts/s)")
    if dup_heavy:
        b.ratios.append(f"embed_cached cold / bare encode of the {len(uniq):,} distinct texts (the work it "
                        f"really does): {cold / t_bare_u:.2f}x ({len(uniq) / cold:,.0f} vs "
                        f"{len(uniq) / t_bare_u:,.0f} distinct texts/s)")
    b.ratios.append(f"embed_cached warm / bare encode: {warm / bare:.3f}x ({len(texts) / warm:,.0f} texts/s)")
    b.notes.append(f"max |embed_cached - bare| over all vector components: {max_diff:.2e}")
    del bare_model, bare_vecs, bare_parts, vecs, vec_parts, vecs2

    # the rest of the catalog goes into the cache so build_model below really runs warm
    done = set(uniq)
    rest = [t for t in dict.fromkeys(texts_all.to_numpy()) if t not in done]
    if rest:
        t0 = time.perf_counter()
        embed_cached(rest, encoder, emb_engine)
        b.notes.append(f"cache filled with the other {len(rest):,} distinct catalog texts for build_model in "
                       f"{time.perf_counter() - t0:.1f} s (not a stage)")

    # pair statistics ----------------------------------------------------------------------
    pairs, ps = b.time("pairs", "pairs: pair_stats(min_pair_count=2)", lambda: pair_stats(x, 2),
                       rows=x.shape[0], unit="baskets", pure=True)
    b.note(f"{len(pairs):,} directed pairs")
    co, xtx = b.time("pairs", "peer: bare scipy X.T @ X", lambda: x.T @ x, rows=x.shape[0], unit="baskets",
                       pure=True)
    b.note(f"nnz {co.nnz:,}")
    b.ratios.append(f"pair_stats / bare X.T @ X: {ps / xtx:.2f}x ({ps:.2f} s vs {xtx:.2f} s)")
    del pairs, co

    # build_model --------------------------------------------------------------------------
    def embed_fn(t, progress):
        return embed_cached(t, encoder, emb_engine, progress)[0]

    model, _ = b.time("build_model", "build_model (warm embedding cache)",
                       lambda: build_model(catalog, orders, None, BuildSettings(), embed_fn),
                       rows=len(orders))
    b.note(f"{len(model.pairs):,} pairs, {len(model.category_pairs):,} category pairs, "
           f"{len(model.customer_ids):,} customers")
    emb_engine.dispose()

    # recommendations ----------------------------------------------------------------------
    rec = CrossCategoryHybrid().fit(model)
    rng = np.random.default_rng(args.seed)
    ids = model.customer_ids
    chosen = ids[np.sort(rng.choice(len(ids), size=min(args.customers, len(ids)), replace=False))]
    per = np.empty(len(chosen))

    def recommend_all():
        n = 0
        for i, c in enumerate(chosen):
            t = time.perf_counter()
            n += len(rec.recommend(c, k=10))
            per[i] = time.perf_counter() - t
        return n

    n_recs, rs = b.time("recommend", "recommend: CrossCategoryHybrid, k=10", recommend_all,
                        rows=len(chosen), unit="customers")
    ms = per * 1000
    b.note(f"one call per customer: p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, "
           f"max {ms.max():.1f} ms; {n_recs:,} items")
    many = getattr(rec, "recommend_many", None)  # the batched path (CLI, evaluation), where core has one
    if many is not None:
        out, rm = b.time("recommend", "recommend: recommend_many, same customers", lambda: many(list(chosen), k=10),
                         rows=len(chosen), unit="customers")
        b.note(f"mean {rm / max(len(chosen), 1) * 1000:.1f} ms per customer; {sum(len(r) for r in out):,} items")
        b.ratios.append(f"recommend (one call per customer) / recommend_many: {rs / rm:.2f}x")
    b.notes.append(f"peak RSS so far {peak_rss_mib():,.0f} MiB")
    return b



def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=("demo", "completejourney", "all"), default="all")
    ap.add_argument("--max-lines", type=int, default=None, metavar="N",
                    help="cap the order lines (cut on a basket boundary); default: all")
    ap.add_argument("--max-texts", type=int, default=None, metavar="N",
                    help=f"embedding benchmark on the first N product texts (default: all for demo, "
                         f"{CJ_DEFAULT_MAX_TEXTS:,} for completejourney)")
    ap.add_argument("--customers", type=int, default=1000, metavar="N",
                    help="customers for the recommendation benchmark (default 1000)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the customer sample (default 0)")
    ap.add_argument("--completejourney-dir", type=Path, default=DEFAULT_CJ, metavar="PATH")
    ap.add_argument("--profile", nargs="+", choices=STAGES, metavar="STAGE",
                    help=f"run these stages under cProfile and print the top functions ({', '.join(STAGES)})")
    ap.add_argument("--profile-top", type=int, default=15, metavar="N")
    ap.add_argument("--torch-threads", type=int, default=None, metavar="N",
                    help="torch.set_num_threads(N) for both the Encoder and the bare peer (default: torch's "
                         "own choice, what the app gets)")
    args = ap.parse_args(argv)
    for name in ("max_lines", "max_texts", "customers", "torch_threads"):
        v = getattr(args, name)
        if v is not None and v < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1, got {v}")

    if args.torch_threads is not None:
        import torch

        torch.set_num_threads(args.torch_threads)
    print(f"Cross-Sell Studio pipeline benchmark: python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE')}, {load_average()}")
    print(f"code: {revision()}")
    names = ("demo", "completejourney") if args.dataset == "all" else (args.dataset,)
    t_all = time.perf_counter()
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"bench_{name}_") as d:
            tmp = Path(d)
            if name == "demo":
                inputs = demo_inputs(tmp, args.max_lines)
                where = "data/demo"
            else:
                src = args.completejourney_dir
                if not (src / "transactions.parquet").is_file() or not (src / "products.csv").is_file():
                    print(f"\n== completejourney: skipped: {src} not found ==")
                    continue
                inputs = completejourney_inputs(src, tmp, args.max_lines)
                where = str(src)
            print(f"\n== {name}: {where} ==", flush=True)
            t0 = time.perf_counter()
            bench = run_dataset(inputs, tmp, args)
            bench.print_table()
            print(f"\n{name}: {time.perf_counter() - t0:.1f} s in all; {load_average()}", flush=True)
            bench.print_profiles()
    print(f"\ntotal {time.perf_counter() - t_all:.1f} s; peak RSS {peak_rss_mib():,.0f} MiB "
          f"(resource.getrusage ru_maxrss, whole process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
