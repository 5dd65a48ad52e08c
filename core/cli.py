"""``python -m core``: the app's pipeline, headless.

    python -m core build --demo --out DIR
    python -m core build --catalog F --orders F [--reviews F] --out DIR [--min-pair-count N] [--top-k K]
                         [--strategy NAME] [--rules FILE]
    python -m core evaluate (--demo | --catalog F --orders F) --out DIR [--k 10] [--rules FILE]
    python -m core ingest --workspace W [--catalog F] [--orders F] [--reviews F] [--preset NAME] [--report FILE]

``build`` writes DIR/item_pairs.csv, DIR/category_pairs.csv, DIR/recommendations.csv,
DIR/complement_eval.csv, and DIR/inferred_categories.csv (catalog without categories) and
DIR/product_reviews.csv (with reviews) where they apply; ``evaluate``
writes DIR/evaluation.csv (strategy, metric, k, value, ci_low, ci_high); both write DIR/rejected_rows.csv
when rows were rejected. ``--rules`` applies a merchandising rule set (pins, exclusions, ...) alike.
Exit 0 on success (rejected rows are reported on stderr), 2 when an input is refused (message names
the file, row and column) or DIR is not a folder, 1 on an unexpected error.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from core import schema as S
from core.affinity import AffinitySettings
from core.errors import CrossSellError, SchemaError


class _StderrProgress:
    """Progress lines on stderr, at most one per second or per 10% step."""

    def __init__(self, stage: str):
        self.stage, self.last_t, self.last_f = stage, 0.0, -1.0

    def __call__(self, frac: float, msg: str) -> None:
        now = time.monotonic()
        if frac >= 1.0 or now - self.last_t >= 1.0 or frac - self.last_f >= 0.1:
            print(f"[{self.stage} {frac:4.0%}] {msg}", file=sys.stderr, flush=True)
            self.last_t, self.last_f = now, frac


def _present(v) -> bool:
    """A reject's column/value is given (a malformed line has neither; never print it as 'nan')."""
    return v is not None and not (isinstance(v, float) and v != v)


def _where(column, value) -> str:
    parts = ([f", column {column!r}"] if _present(column) else []) + ([f", value {value!r}"] if _present(value) else [])
    return "".join(parts)


def _read_inputs(args) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from core.ingest import load_table
    from core.workspace import DEMO_DIR, DEMO_FILES

    if args.demo:
        paths = {S.CATALOG: DEMO_DIR / DEMO_FILES[S.CATALOG], S.ORDERS: DEMO_DIR / DEMO_FILES[S.ORDERS]}
    else:
        if not args.catalog or not args.orders:
            raise SchemaError("give --demo, or both --catalog and --orders")
        paths = {S.CATALOG: Path(args.catalog), S.ORDERS: Path(args.orders)}
        if args.reviews:
            paths[S.REVIEWS] = Path(args.reviews)
    tables, rejects = {}, []
    for kind, path in paths.items():
        if not path.is_file():
            raise SchemaError("file not found", file=str(path))
        res = load_table(path.read_bytes(), str(path), kind)
        tables[kind] = res.valid
        print(f"{path}: {res.rows_loaded:,} of {res.rows_read:,} rows loaded, {res.rows_rejected:,} rejected "
              f"(encoding {res.encoding}, delimiter {res.delimiter!r})", file=sys.stderr)
        for w in res.warnings:
            print(f"  warning: {w}", file=sys.stderr)
        for r in res.rejects.head(10).itertuples(index=False):
            print(f"  rejected: file {r.file!r}, row {r.row}{_where(r.column, r.value)}: {r.reason}", file=sys.stderr)
        if len(res.rejects) > 10:
            print(f"  ... {len(res.rejects) - 10:,} more problems in rejected_rows.csv", file=sys.stderr)
        if args.strict and len(res.rejects):
            r = res.rejects.iloc[0]
            value = f" (value {r['value']!r})" if _present(r["value"]) else ""
            raise SchemaError(f"{r['reason']}{value}; --strict refuses files with rejected rows",
                              file=str(path), row=int(r["row"]),
                              column=r["column"] if _present(r["column"]) else None)
        rejects.append(res.rejects)
    reviews = tables.get(S.REVIEWS, pd.DataFrame(columns=list(S.REVIEWS_COLUMNS)))
    return tables[S.CATALOG], tables[S.ORDERS], reviews, pd.concat(rejects, ignore_index=True)


def _embedder(args):
    """embed(texts, progress) over the packaged (or --model) encoder and the embedding cache."""
    from core.embeddings import Encoder, embed_cached
    from core.store import make_engine

    encoder = Encoder(args.model)
    engine = make_engine(args.database) if not args.no_cache else None

    def embed(texts, progress):
        vecs, n_new = embed_cached(texts, encoder, engine, progress)
        print(f"embeddings: {n_new:,} texts encoded now, {len(texts) - n_new:,} from the cache", file=sys.stderr)
        return vecs
    return embed


def _build_settings(args):
    from core.pipeline import BuildSettings

    return BuildSettings(AffinitySettings(min_pair_count=args.min_pair_count, max_basket_size=args.max_basket_size),
                         use_text=not args.no_text, category_k=args.category_k,
                         label_uncategorised=args.label_uncategorised)


def _read_rules(args):
    """The RuleSet of ``--rules FILE`` (JSON as the Rules page downloads it), or None."""
    import json

    from core.rules import RuleSet

    if not getattr(args, "rules", None):
        return None
    path = Path(args.rules)
    if not path.is_file():
        raise SchemaError("rules file not found", file=str(path))
    try:
        rules = RuleSet.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        raise SchemaError(f"not a rule set: {exc}", file=str(path)) from None
    print(f"rules: {rules.name!r} ({rules.summary()})", file=sys.stderr)
    return rules


def _strategy(name: str):
    from core.recommend import STRATEGIES

    if name not in STRATEGIES:
        raise SchemaError(f"unknown strategy {name!r} (known: {', '.join(STRATEGIES)})")
    return STRATEGIES[name]()


def _complement_eval(args, model, catalog, orders, out: Path) -> int:
    """Write DIR/complement_eval.csv (issue 4: method, slice, queries, hit_rate_at_10, recall_at_10, SEs);
    rows written, 0 when skipped (no text, --no-complement-eval, or too little history: said on stderr)."""
    from core.errors import EmptyDataError
    from core.evaluation.complement_eval import complement_eval_table

    if args.no_complement_eval or model.embeddings is None:
        return 0
    cat = (catalog.drop_duplicates(S.PRODUCT_ID).set_index(S.PRODUCT_ID)
           .reindex(pd.Index(model.item_ids, name=S.PRODUCT_ID)).reset_index())
    t = time.perf_counter()
    try:
        table = complement_eval_table(cat, orders, model.embeddings,
                                      log=lambda msg: print(f"[complement eval] {msg}", file=sys.stderr))
    except EmptyDataError as exc:
        print(f"complement_eval.csv not written: {exc}", file=sys.stderr)
        return 0
    table.to_csv(out / "complement_eval.csv", index=False)
    print(f"complement evaluation in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return len(table)


def cmd_build(args) -> int:
    from core.pipeline import build_model, category_pairs_table, item_pairs_table
    from core.rules import compile_rules

    t0 = time.perf_counter()
    rules = _read_rules(args)
    rec = _strategy(args.strategy)
    catalog, orders, reviews, rejects = _read_inputs(args)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a parent is a file, no permission, ...
        print(f"error: cannot create the output folder {str(out)!r}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    settings = _build_settings(args)
    embed = _embedder(args) if settings.use_text else None
    unknown = orders.loc[~orders[S.PRODUCT_ID].isin(set(catalog[S.PRODUCT_ID])), S.PRODUCT_ID]
    if len(unknown):
        print(f"warning: {len(unknown):,} order lines name {unknown.nunique():,} products missing from the catalog "
              f"(e.g. {', '.join(map(str, unknown.unique()[:5]))}); they are left out of baskets", file=sys.stderr)
    model = build_model(catalog, orders, reviews, settings, embed, progress=_StderrProgress("build"))
    item_pairs_table(model).to_csv(out / "item_pairs.csv", index=False)
    category_pairs_table(model).to_csv(out / "category_pairs.csv", index=False)
    rec.fit(model)
    if rules is not None:
        rec.rules = compile_rules(rules, model, catalog, orders)
        for w in rec.rules.warnings:
            print(f"  rules warning: {w}", file=sys.stderr)
    progress = _StderrProgress("recommend")
    frames = []
    ids = list(model.customer_ids)
    for i in range(0, len(ids), 256):
        frames.append(rec.recommend_frame(ids[i:i + 256], args.top_k))
        progress(min(i + 256, len(ids)) / max(len(ids), 1), f"{min(i + 256, len(ids)):,} of {len(ids):,} customers")
    progress(1.0, "recommendations done")
    recs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(S.RECOMMENDATION_COLUMNS))
    recs.to_csv(out / "recommendations.csv", index=False)
    complement_rows = _complement_eval(args, model, catalog, orders, out)
    if model.category_clusters is not None:
        model.category_clusters.to_csv(out / "inferred_categories.csv", index=False)
        print(f"categories inferred from product text: {len(model.category_clusters):,} clusters, see "
              f"{out}/inferred_categories.csv", file=sys.stderr)
    if model.item_reviews is not None:
        model.item_reviews.to_csv(out / "product_reviews.csv", index=False)
    if len(rejects):
        rejects.to_csv(out / "rejected_rows.csv", index=False)
    print(f"wrote {out}/item_pairs.csv ({len(model.pairs):,} rows), category_pairs.csv "
          f"({len(model.category_pairs):,}), recommendations.csv ({len(recs):,} for "
          f"{recs['customer_id'].nunique():,} customers)"
          + (f", complement_eval.csv ({complement_rows} rows)" if complement_rows else "")
          + f" in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def _file_report(path: str, rep) -> dict:
    """The JSON report entry of one imported file (issue 3's documented shape)."""
    v, o = rep.validation, rep.outcome
    rejected = [{"row": int(r.row), "column": r.column, "value": r.value, "reason": r.reason}
                for r in v.rejects.itertuples(index=False)]
    extra = getattr(rep, "cleaning", None)
    return {"path": path, "kind": v.kind, "encoding": v.encoding, "delimiter": v.delimiter,
            "rows_read": v.rows_read, "rows_loaded": v.rows_loaded, "rows_rejected": v.rows_rejected,
            "rejected": rejected, "warnings": list(v.warnings), "cleaning": extra or {},
            "skipped_as_already_imported": o.skipped, "added": o.added, "changed": o.changed,
            "unchanged": o.unchanged, "mapping": v.mapping}


def cmd_ingest(args) -> int:
    """Import files into a workspace of the database (DATABASE_URL or the default file)."""
    import json

    from core.store import make_engine
    from core.store.repo import list_presets
    from core.workspace import import_files

    paths = {k: getattr(args, k) for k in S.KINDS if getattr(args, k)}
    if not paths:
        raise SchemaError("give at least one of --catalog, --orders, --reviews")
    files = {}
    for kind, path in paths.items():
        p = Path(path)
        if not p.is_file():
            raise SchemaError("file not found", file=str(p))
        files[kind] = (str(p), p.read_bytes())
    engine = make_engine(args.database)
    mappings = None
    if args.preset:
        saved = list_presets(engine, args.workspace)
        if args.preset not in saved:
            known = ", ".join(sorted(saved)) or "none saved in this workspace"
            raise SchemaError(f"unknown preset {args.preset!r} (known: {known})")
        mappings = {saved[args.preset]["kind"]: saved[args.preset]["mapping"]}
    fmt = {"decimal": args.decimal, "dayfirst": {"day": True, "month": False}.get(args.dates)}
    reports = import_files(engine, args.workspace, files, mappings, options={k: fmt for k in files})
    doc = {"workspace": args.workspace, "files": [_file_report(paths[r.validation.kind], r) for r in reports]}
    for r in reports:
        print(r.summary, file=sys.stderr)
        for w in r.validation.warnings:
            print(f"  warning: {w}", file=sys.stderr)
    text = json.dumps(doc, ensure_ascii=False, indent=2, default=str)
    if args.report:
        Path(args.report).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


def cmd_evaluate(args) -> int:
    """Offline evaluation of the strategies on the held-out last orders: DIR/evaluation.csv."""
    from core.evaluation.offline import evaluate_workspace

    t0 = time.perf_counter()
    rules = _read_rules(args)
    strategies = None
    if args.strategies:
        strategies = {n: _strategy(n) for n in args.strategies}
    catalog, orders, reviews, rejects = _read_inputs(args)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: cannot create the output folder {str(out)!r}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    settings = _build_settings(args)
    embed = _embedder(args) if settings.use_text else None
    table = evaluate_workspace(catalog, orders, reviews, strategies=strategies, k=args.k, embed=embed,
                               progress=_StderrProgress("evaluate"), n_boot=args.n_boot, seed=args.seed,
                               settings=settings, category_level=args.category_level, rules=rules)
    table.to_csv(out / "evaluation.csv", index=False)
    if len(rejects):
        rejects.to_csv(out / "rejected_rows.csv", index=False)
    for name, why in (table.attrs.get("skipped") or {}).items():
        print(f"skipped {name}: {why}", file=sys.stderr)
    wide = table.pivot(index="strategy", columns="metric", values="value")
    cols = [c for c in ("recall", "ndcg", "new_item_ndcg", "cross_category_recall", "coverage") if c in wide]
    print(wide[cols].to_string(float_format=lambda v: f"{v:.4f}"), file=sys.stderr)
    print(f"wrote {out}/evaluation.csv ({len(table):,} rows: {table['strategy'].nunique()} strategies x "
          f"{table['metric'].nunique()} metrics, k={args.k}) in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def _source_args(p) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--demo", action="store_true", help="use the bundled Instacart demo data")
    src.add_argument("--catalog", help="catalog file (CSV/TSV/XLSX/Parquet, optionally .gz/.zip)")
    p.add_argument("--orders", help="order-lines file")
    p.add_argument("--reviews", help="reviews file (optional)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--min-pair-count", type=int, default=2, help="drop pairs held by fewer baskets (default 2)")
    p.add_argument("--strict", action="store_true", help="refuse (exit 2) any file with a rejected row")
    p.add_argument("--no-text", action="store_true", help="skip the language model (co-purchase only)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    p.add_argument("--model", help="sentence-transformers model folder (default: packaged all-MiniLM-L6-v2)")
    p.add_argument("--database", help="SQLAlchemy URL of the embedding cache (default: DATABASE_URL or var/)")
    p.add_argument("--rules", help="merchandising rule set, JSON as the Rules page downloads it")
    p.add_argument("--max-basket-size", type=int, help="leave baskets with more items out of the pair statistics")
    p.add_argument("--category-k", type=int, help="number of inferred categories when the catalog has none "
                                                  "(default: chosen by silhouette)")
    p.add_argument("--label-uncategorised", action="store_true",
                   help="label a partly categorised catalog's uncategorised products with a classifier")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core", description="Cross-Sell Studio, headless.")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="affinity graph and recommendations from files")
    _source_args(b)
    b.add_argument("--top-k", type=int, default=10, help="recommendations per customer (default 10)")
    b.add_argument("--strategy", default="hybrid", help="strategy for recommendations.csv (default: hybrid)")
    b.add_argument("--no-complement-eval", action="store_true",
                   help="skip DIR/complement_eval.csv (the held-out complement evaluation of issue 4)")
    b.set_defaults(func=cmd_build)
    e = sub.add_parser("evaluate", help="offline evaluation of every strategy on the held-out last orders")
    _source_args(e)
    e.add_argument("--k", type=int, default=10, help="list length K (default 10)")
    e.add_argument("--strategies", nargs="+", help="strategy names (default: all)")
    e.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the 95%% intervals")
    e.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    e.add_argument("--category-level", type=int, help="category level of the cross-category metrics")
    e.set_defaults(func=cmd_evaluate)
    g = sub.add_parser("ingest", help="import files into a workspace of the database")
    g.add_argument("--workspace", required=True, help="workspace name (created if missing)")
    g.add_argument("--catalog", help="catalog file")
    g.add_argument("--orders", help="order-lines file")
    g.add_argument("--reviews", help="reviews file")
    g.add_argument("--preset", help="a mapping preset saved in the workspace")
    g.add_argument("--report", help="write the JSON report here (default: stdout)")
    g.add_argument("--decimal", choices=[".", ","], help="decimal separator, where a file's numbers are ambiguous")
    g.add_argument("--dates", choices=["day", "month"], help="day-first or month-first, where dates are ambiguous")
    g.add_argument("--database", help="SQLAlchemy URL (default: DATABASE_URL or var/crosssell.sqlite)")
    g.set_defaults(func=cmd_ingest)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "top_k", 1) < 1:
        parser.error("--top-k must be >= 1")
    if getattr(args, "k", 1) < 1:
        parser.error("--k must be >= 1")
    if getattr(args, "n_boot", 1) < 1:
        parser.error("--n-boot must be >= 1")
    if getattr(args, "category_k", None) is not None and args.category_k < 2:
        parser.error("--category-k must be >= 2")
    if getattr(args, "max_basket_size", None) is not None and args.max_basket_size < 2:
        parser.error("--max-basket-size must be >= 2")
    if getattr(args, "min_pair_count", 1) < 1:
        parser.error("--min-pair-count must be >= 1")
    out = getattr(args, "out", None)
    if out:
        # checked before any input is read, so a long build never fails on its last step
        blocker = next((a for a in (Path(out), *Path(out).parents) if a.exists()), None)
        if blocker is not None and not blocker.is_dir():
            what = "is an existing file" if blocker == Path(out) else f"is inside {str(blocker)!r}, which is a file"
            print(f"error: --out {out!r} {what}; give a folder (it is created if missing)", file=sys.stderr)
            return 2
    try:
        return args.func(args)
    except CrossSellError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
