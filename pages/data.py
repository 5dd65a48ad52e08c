"""Data: upload catalog, orders and reviews; see what was loaded, rejected and unknown."""
from datetime import datetime

import pandas as pd
import streamlit as st

from core import schema as S
from core.errors import CrossSellError
from core.ingest.read import read_preview
from core.ingest.clean import DEFAULT_NON_PRODUCT_PATTERNS, CleaningSettings
from core.ingest.presets import BUILTIN_PRESETS, instacart_frames, suggest_preset
from core.ingest.validate import suggest_mapping
from core.store import delete_workspace, list_imports, list_workspaces
from core.store.repo import content_hash, list_presets, save_preset
from core.workspace import import_files
from ui import state
from ui.page import page_setup
from ui.resources import get_engine, workspace_data

engine = get_engine()
workspace = page_setup()

st.title("Data")
st.caption("Upload a product catalog, order lines and (optionally) reviews. Every rejected row is listed with its "
           "row number, column, value and reason; good rows are never dropped because of bad ones.")

with st.expander("File formats (headers are case-insensitive; common synonyms such as SKU or Name are recognised)"):
    st.markdown(
        "- **Catalog**: `product_id`, `title`, `category` (a path like `dairy eggs > yogurt`), `description` "
        "(optional, HTML allowed), `price` (optional, ≥ 0), `brand` (optional)\n"
        "- **Orders**, one row per order line: `order_id`, `product_id`, `customer_id` (optional), `quantity` "
        "(default 1), `price` (optional), `ordered_at` (optional date/time) or `order_number` (optional)\n"
        "- **Reviews**: `product_id`, `text`, `rating` (optional, 1–5), `customer_id` (optional), `created_at` "
        "(optional)\n\nCSV or TSV (any common delimiter, UTF-8 or Windows-1252), XLSX or Parquet; .gz/.zip work too.")

# ---- upload ------------------------------------------------------------------------------------
st.subheader("Upload")
TYPES = ["csv", "tsv", "txt", "xlsx", "parquet", "gz", "zip"]
NONE = "— not in the file —"
default_ws = f"upload-{datetime.now():%Y%m%d-%H%M}"
st.session_state.setdefault(state.UPLOAD_WORKSPACE, default_ws if workspace == S.DEMO_WORKSPACE else workspace)
target = st.text_input("Workspace to import into", key=state.UPLOAD_WORKSPACE,
                       help="Uploads never go into the demo; a new name creates a new workspace.").strip()
columns = st.columns(3)
labels = {S.CATALOG: "Catalog", S.ORDERS: "Orders", S.REVIEWS: "Reviews"}
uploads = {k: columns[i].file_uploader(labels[k], type=TYPES, key=f"upload_{k}") for i, k in enumerate(S.KINDS)}


PREVIEW_ROWS = 1000


@st.cache_data(show_spinner="Reading the file…", max_entries=16, hash_funcs={bytes: content_hash})
def _read(name: str, data: bytes):
    """The first records only (mapping and preview); the import streams the whole file in chunks."""
    return read_preview(data, name, PREVIEW_ROWS)


chosen, mappings, builtins, formats, refused = {}, {}, {}, {}, []
saved = list_presets(engine, target, None) if target else {}
for kind, upload in uploads.items():
    if upload is None:
        continue
    data = upload.getvalue()
    digest = content_hash(data)
    try:
        read, complete = _read(upload.name, data)
    except CrossSellError as exc:
        refused.append(str(exc))
        continue
    with st.expander(f"Columns of {upload.name} ({kind})", expanded=True):
        st.caption(f"Encoding {read.encoding}" + (f", delimiter {read.delimiter!r}" if read.delimiter else "")
                   + (f", {len(read.frame):,} records" if complete else
                      f"; the first {len(read.frame):,} records are previewed, the import reads them all")
                   + (f", {len(read.malformed):,} malformed" if read.malformed else ""))
        f1, f2 = st.columns(2)
        dec = f1.selectbox("Decimal separator", ["detect", ". (12.99)", ", (12,99)"], key=f"decimal_{kind}",
                           help="Detected per file from all values; choose when the import says it is ambiguous.")
        dates = f2.selectbox("Dates", ["detect", "day first (31/12)", "month first (12/31)"], key=f"dayfirst_{kind}",
                             help="Detected per column; choose when every date could be read both ways.")
        formats[kind] = {"decimal": {"detect": None}.get(dec, dec[0]),
                         "dayfirst": {"detect": None, "day first (31/12)": True}.get(dates, False)}
        presets = {n: p["mapping"] for n, p in saved.items() if p["kind"] == kind}
        builtin = [n for n, p in BUILTIN_PRESETS.items() if p.kind == kind and p.combine is None]
        suggested = suggest_preset(read.frame.columns)
        choices = ["Suggested from the headers", *presets, *(f"Built-in: {n}" for n in builtin)]
        first = f"Built-in: {suggested}" if suggested in builtin else choices[0]
        source = st.selectbox("Mapping", choices, index=choices.index(first), key=f"preset_{kind}_{digest[:12]}",
                              help="Built-in presets understand whole export layouts (e.g. Shopify variant rows "
                                   "become one product); saved presets are mappings you stored for this workspace.")
        if source.startswith("Built-in: "):
            name = source[len("Built-in: "):]
            st.info(f"{name}: {BUILTIN_PRESETS[name].description}")
            builtins[kind] = name
            st.dataframe(read.frame.head(5), hide_index=True, width="stretch")
            chosen[kind] = (upload.name, data)
            continue
        base = presets.get(source) or suggest_mapping(read.frame.columns, kind)
        options = [NONE, *map(str, read.frame.columns)]
        grid = st.columns(3)
        mapping = {}
        for i, canon in enumerate(S.COLUMNS[kind]):
            required = canon in S.REQUIRED[kind]
            src = base.get(canon)
            choice = grid[i % 3].selectbox(f"{canon}{' (required)' if required else ''}", options,
                                           index=options.index(src) if src in options else 0,
                                           key=f"map_{kind}_{canon}_{digest[:12]}_{source}")
            if choice != NONE:
                mapping[canon] = choice
        mappings[kind] = mapping
        st.dataframe(read.frame.head(5), hide_index=True, width="stretch")
        n1, n2 = st.columns([3, 1])
        preset_name = n1.text_input("Save this mapping as", key=f"preset_name_{kind}", placeholder="e.g. My Shopify export")
        if n2.button("Save preset", key=f"save_preset_{kind}", disabled=not (preset_name.strip() and target)):
            save_preset(engine, target, kind, preset_name, mapping)
            st.toast(f"Saved mapping preset “{preset_name.strip()}” for {kind} files in “{target}”.")
    chosen[kind] = (upload.name, data)
for msg in refused:
    st.error(f"File refused: {msg}")

with st.expander("Several files of one export (Instacart layout: products, aisles, departments, orders, order lines)"):
    multi = st.file_uploader("All files of the export", type=TYPES, accept_multiple_files=True, key="upload_multi")
    if multi and st.button("Join these files", key="join_multi"):
        try:
            cat_frame, ord_frame = instacart_frames({f.name: f.getvalue() for f in multi})
            st.session_state["multi_files"] = {
                S.CATALOG: ("instacart catalog (joined).csv", cat_frame.to_csv(index=False).encode()),
                S.ORDERS: ("instacart orders (joined).csv", ord_frame.to_csv(index=False).encode())}
            st.success(f"Joined {len(multi)} files: {len(cat_frame):,} products, {len(ord_frame):,} order lines. "
                       "Press Import to load them.")
        except (CrossSellError, ValueError) as exc:
            st.error(f"Cannot join these files: {exc}")
    for kind, (name, data) in st.session_state.get("multi_files", {}).items():
        if multi and kind not in chosen:
            chosen[kind] = (name, data)

with st.expander("Cleaning rules for order lines (cancellations, returns, fees, vouchers…)"):
    st.caption("Lines these rules catch are stored with their reason and kept out of baskets; nothing is deleted.")
    c1, c2 = st.columns([1, 3])
    prefixes = c1.text_input("Cancelled order ids start with", value="C", key="clean_prefixes",
                             help="Comma-separated, case-insensitive (UCI/ERP invoices: C).")
    skip_neg = c1.checkbox("Keep zero/negative quantities out of baskets", value=True, key="clean_neg")
    patterns = c2.text_area("Non-product lines (one regular expression per line, matched on product id and title)",
                            value="\n".join(DEFAULT_NON_PRODUCT_PATTERNS), height=180, key="clean_patterns")
try:
    cleaning = CleaningSettings(cancellation_prefixes=tuple(p.strip() for p in prefixes.split(",") if p.strip()),
                                exclude_non_positive_quantity=skip_neg,
                                non_product_patterns=tuple(p for p in patterns.splitlines() if p.strip()))
except (TypeError, ValueError) as exc:
    st.error(f"Cleaning rules: {exc}")
    cleaning = None

if st.button("Import", type="primary", disabled=not chosen or cleaning is None):
    if not target:
        st.error("Name the workspace to import into.")
    elif target == S.DEMO_WORKSPACE:
        st.error("The demo workspace is read-only: choose another workspace name for your upload.")
    else:
        key = "|".join(f"{k}:{content_hash(d)}:{sorted(mappings.get(k, {}).items())}:{builtins.get(k)}"
                       for k, (_, d) in sorted(chosen.items())) + f":{hash(cleaning)}:{sorted(formats.items())}"
        key += f"@{target}"
        reports = st.session_state.setdefault(state.IMPORT_REPORTS, {})
        if key not in reports:  # reruns never re-import the same content with the same mapping
            try:
                with st.spinner("Validating and importing…"):
                    reports[key] = {"reports": import_files(engine, target, chosen, mappings, None, builtins,
                                                            cleaning, formats), "error": None}
            except CrossSellError as exc:
                reports[key] = {"reports": [], "error": str(exc)}
        st.session_state["last_import"] = key
        if reports[key]["reports"]:
            state.request_workspace(st.session_state, target)
            st.rerun()

last = st.session_state.get(state.IMPORT_REPORTS, {}).get(st.session_state.get("last_import"))
if last:
    if last["error"]:
        st.error(f"Import refused: {last['error']}")
    for rep in last["reports"]:
        v = rep.validation
        box = st.container(border=True)
        box.markdown(f"**{v.file}** · {v.kind}")
        (box.info if rep.outcome.skipped else box.success)(rep.summary)
        m1, m2, m3, m4, m5 = box.columns(5)
        m1.metric("Rows read", f"{v.rows_read:,}")
        m2.metric("Rows loaded", f"{v.rows_loaded:,}")
        m3.metric("Rows rejected", f"{v.rows_rejected:,}")
        unit = {S.CATALOG: "products", S.ORDERS: "orders", S.REVIEWS: "reviews"}[v.kind]
        m4.metric(f"New {unit}", f"{rep.outcome.added:,}")
        m5.metric(f"Changed / unchanged {unit}", f"{rep.outcome.changed:,} / {rep.outcome.unchanged:,}")
        if rep.cleaning:
            c = rep.cleaning
            box.caption("Order lines: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in c.items()))
        box.caption("Column mapping used: " + ", ".join(f"{k} ← {c}" for k, c in v.mapping.items()))
        for w in v.warnings:
            box.caption(w)
        if len(v.rejects):
            box.dataframe(v.rejects, hide_index=True, width="stretch")
            box.download_button("Download rejected rows (CSV)", v.rejects.to_csv(index=False).encode(),
                                file_name=f"rejected_{v.file}.csv", mime="text/csv", key=f"rej_{v.file}_{v.kind}")

# ---- current workspace -------------------------------------------------------------------------
st.subheader(f"Workspace “{workspace}”")
data = workspace_data(workspace)
m1, m2, m3, m4 = st.columns(4)
m1.metric("Products", f"{len(data.catalog):,}")
m2.metric("Order lines", f"{len(data.orders):,}")
m3.metric("Orders", f"{data.orders[S.ORDER_ID].nunique():,}")
m4.metric("Customers", f"{data.orders[S.CUSTOMER_ID].nunique():,}")

unknown = data.unknown_products()
if len(unknown):
    n_lines, n_products = int(unknown["lines"].sum()), len(unknown)
    st.warning(f"{n_lines:,} order line{'s' if n_lines != 1 else ''} name{'s' if n_lines == 1 else ''} "
               f"{n_products:,} product{'s' if n_products != 1 else ''} that {'are' if n_products != 1 else 'is'} "
               "not in the catalog. They are stored, but left out of baskets until the catalog lists them.")
    st.dataframe(unknown, hide_index=True, width="stretch", height=200)
    st.download_button("Download unknown products (CSV)", unknown.to_csv(index=False).encode(),
                       file_name=f"unknown_products_{workspace}.csv", mime="text/csv")

tab_cat, tab_ord, tab_rev, tab_log = st.tabs(["Catalog", "Orders", "Reviews", "Import log"])
for tab, frame, label in ((tab_cat, data.catalog, "catalog"), (tab_ord, data.orders, "orders"),
                          (tab_rev, data.reviews, "reviews")):
    with tab:
        if len(frame):
            st.dataframe(frame.head(1000), hide_index=True, width="stretch", height=300)
            st.caption(f"{len(frame):,} rows" + (" (first 1,000 shown)" if len(frame) > 1000 else ""))
            st.download_button(f"Download {label} (CSV)", frame.to_csv(index=False).encode(),
                               file_name=f"{label}_{workspace}.csv", mime="text/csv", key=f"dl_{label}")
        else:
            st.info(f"No {label} in this workspace yet.")
with tab_log:
    log = list_imports(engine, workspace)
    st.dataframe(log, hide_index=True, width="stretch")
    st.download_button("Download import log (CSV)", log.to_csv(index=False).encode(),
                       file_name=f"imports_{workspace}.csv", mime="text/csv", key="dl_log")

st.subheader("All workspaces")
ws = list_workspaces(engine)
st.dataframe(ws, hide_index=True, width="stretch")
st.download_button("Download workspaces (CSV)", ws.to_csv(index=False).encode(), file_name="workspaces.csv",
                   mime="text/csv", key="dl_workspaces")
if workspace != S.DEMO_WORKSPACE:
    with st.popover(f"Delete workspace “{workspace}”"):
        st.write("This deletes its products, orders, reviews and import log. It cannot be undone.")
        if st.button("Delete for good", type="primary"):
            delete_workspace(engine, workspace)
            state.request_workspace(st.session_state, S.DEMO_WORKSPACE)
            st.rerun()
