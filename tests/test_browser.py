"""One real-browser test: `streamlit run app.py` on a fresh database, Debian's Chromium driven by Playwright.

It clicks through every page from the sidebar and checks each page's key content, that no exception
box and no error alert is shown, and it saves a full-page screenshot of the Affinity graph page
(to ``assets/screenshot.png``, shown by the README, when ``UPDATE_SCREENSHOT=1``).

Skipped when /usr/bin/chromium is absent (``apt-get install chromium chromium-driver``), except under
``CI=true`` where it fails instead. Playwright only drives that browser: never ``playwright install``.

Speed: the app's first Affinity build encodes the demo's 14,887 product texts with the real MiniLM
model (minutes on two CPU cores). A helper process encodes them into an embedding cache kept in
pytest's cache folder (cold once, reused afterwards; ``--cache-clear`` gives a cold run), and the
test's fresh database starts as a copy of that cache, so the app reads every vector from its cache.
"""
from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = ROOT / "assets" / "screenshot.png"
PAGES = ("Data", "Affinity graph", "Customers", "Evaluation", "Merchandising rules", "Experiments")

# Timeouts (generous: they bound a hang, they do not measure speed). Milliseconds for Playwright.
WARM_CACHE_S = 1800      # helper process, cold: encode 14,887 texts on CPU
SERVER_START_S = 90      # until /_stcore/health answers
FIRST_BUILD_MS = 240_000  # a page that loads the demo or builds a model
PAGE_MS = 120_000        # a page whose model is already built
EXPERIMENT_MS = 300_000  # training-split model build + the simulation

# Runs in a child process (keeps torch out of pytest's memory): the app's own build of the demo,
# so the cached texts are exactly those the app will ask for.
_WARM_SCRIPT = """
import sys, time
from core.embeddings import Encoder, embed_cached
from core.pipeline import build_model
from core.store import make_engine
from core.workspace import read_demo_tables

t0 = time.perf_counter()
engine, encoder, encoded = make_engine(sys.argv[1]), Encoder(), []
catalog, orders, reviews = read_demo_tables()

def embed(texts, progress):
    vectors, n_new = embed_cached(texts, encoder, engine, progress)
    encoded.append((n_new, len(texts)))
    return vectors

build_model(catalog, orders, reviews, embed=embed)
engine.dispose()
print(f"embedding cache: {encoded[0][0]:,} of {encoded[0][1]:,} demo texts encoded now "
      f"in {time.perf_counter() - t0:.1f} s")
"""


def _offline_env(**extra: str) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def require_browser():
    """Skip (or, under CI=true, fail) when Chromium or Playwright is missing; checked before any setup."""
    in_ci = os.environ.get("CI", "").lower() in ("true", "1")
    problem = None
    if not CHROMIUM.is_file():
        problem = f"{CHROMIUM} not found (install Debian's chromium: apt-get install chromium chromium-driver)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install -r requirements-dev.txt)"
    if problem and in_ci:
        pytest.fail(f"browser test cannot run in CI: {problem}")
    if problem:
        pytest.skip(problem)


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="session")
def demo_embedding_cache(require_browser, request, tmp_path_factory) -> Path:
    """SQLite file holding the demo's product vectors (kept in pytest's cache folder between runs)."""
    cache = getattr(request.config, "cache", None)
    folder = Path(cache.mkdir("browser-embeddings")) if cache is not None else tmp_path_factory.mktemp("emb")
    path = folder / "demo_embeddings.sqlite"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _WARM_SCRIPT, f"sqlite:///{path}"], cwd=ROOT, env=_offline_env(),
                          capture_output=True, text=True, timeout=WARM_CACHE_S)
    assert proc.returncode == 0, f"warming the embedding cache failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    print(f"\n[browser] {proc.stdout.strip()} (helper process {time.perf_counter() - t0:.1f} s)")
    return path


@pytest.fixture
def app_url(tmp_path, demo_embedding_cache):
    """Base URL of `streamlit run app.py` on a fresh database; the server is stopped afterwards."""
    db = tmp_path / "browser.sqlite"
    with closing(sqlite3.connect(demo_embedding_cache)) as src, closing(sqlite3.connect(db)) as dst:
        src.backup(dst)  # consistent copy, WAL included
    port = _free_port()
    log = tmp_path / "streamlit.log"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    t0 = time.perf_counter()
    with open(log, "wb") as out:
        server = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                  env=_offline_env(DATABASE_URL=f"sqlite:///{db}"))
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"streamlit exited with {server.returncode} before answering:\n{_tail(log)}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer /_stcore/health within {SERVER_START_S} s:\n{_tail(log)}")
            time.sleep(0.25)
        print(f"[browser] server healthy after {time.perf_counter() - t0:.1f} s on port {port}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
        if server.returncode not in (0, -15):
            print(f"[browser] streamlit exit code {server.returncode}; log tail:\n{_tail(log)}")


def _wait_idle(page, timeout_ms: int) -> None:
    """Wait until the script run is over: no running-status widget, spinner, progress bar or skeleton."""
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSpinner"], '
                                        + '[data-testid="stProgress"], [data-testid="stSkeleton"]')""",
        timeout=timeout_ms)


def _assert_no_errors(page, where: str) -> None:
    from playwright.sync_api import expect

    for testid, what in (("stException", "exception box"), ("stAlertContentError", "error alert")):
        boxes = page.get_by_test_id(testid)
        if boxes.count():
            pytest.fail(f"{where}: {what} shown:\n" + "\n---\n".join(boxes.all_inner_texts()))
        expect(boxes, f"{where}: {what}").to_have_count(0)


def _open(page, title: str, timeout_ms: int) -> float:
    """Click the sidebar link named ``title`` and wait for the page's title heading; returns seconds."""
    from playwright.sync_api import expect

    t0 = time.perf_counter()
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    expect(page.get_by_role("heading", name=title, exact=True, level=1)).to_be_visible(timeout=timeout_ms)
    return time.perf_counter() - t0


def _full_page_screenshot(page, path: Path) -> None:
    """Streamlit scrolls inside its main block, so grow the viewport to the content before shooting."""
    height = page.evaluate(
        """() => Math.max(...['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]', 'section.main']
                   .map(s => document.querySelector(s)).filter(Boolean).map(e => e.scrollHeight),
                   document.documentElement.scrollHeight)""")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 6000)})
    page.wait_for_timeout(1500)  # plotly re-lays out on resize
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


def test_click_through_every_page(require_browser, app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    timings: dict[str, float] = {}
    page_errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("pageerror", lambda err: page_errors.append(str(err)))
        try:
            # Data: the default page; the first run loads the bundled demo into the fresh database.
            t0 = time.perf_counter()
            page.goto(app_url)
            expect(page.get_by_role("heading", name="Data", exact=True, level=1)).to_be_visible(
                timeout=FIRST_BUILD_MS)
            expect(page.get_by_test_id("stMetricLabel").get_by_text("Products", exact=True)).to_be_visible(
                timeout=FIRST_BUILD_MS)
            nav = page.get_by_test_id("stSidebarNav")
            for title in PAGES:
                expect(nav.get_by_text(title, exact=True)).to_be_visible()
            _wait_idle(page, PAGE_MS)
            timings["Data"] = time.perf_counter() - t0
            _assert_no_errors(page, "Data")

            # Affinity graph: the first model build (vectors come from the copied cache).
            t0 = time.perf_counter()
            _open(page, "Affinity graph", PAGE_MS)
            expect(page.get_by_role("heading", name="Top cross-category item pairs")).to_be_visible(
                timeout=FIRST_BUILD_MS)
            heatmap = page.get_by_test_id("stPlotlyChart").first
            expect(heatmap).to_be_visible(timeout=FIRST_BUILD_MS)
            expect(heatmap.locator(".js-plotly-plot")).to_be_visible(timeout=PAGE_MS)
            expect(page.get_by_role("heading", name="Network of the strongest cross-category links")).to_be_visible(
                timeout=FIRST_BUILD_MS)
            _wait_idle(page, FIRST_BUILD_MS)
            expect(page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')).to_have_count(2, timeout=PAGE_MS)
            timings["Affinity graph"] = time.perf_counter() - t0
            _assert_no_errors(page, "Affinity graph")
            update = os.environ.get("UPDATE_SCREENSHOT") == "1"
            _full_page_screenshot(page, SCREENSHOT if update else tmp_path / "screenshot.png")

            # Customers: recommendations with their reasons.
            t0 = time.perf_counter()
            _open(page, "Customers", PAGE_MS)
            expect(page.get_by_role("heading", name="Recommendations", exact=True)).to_be_visible(
                timeout=PAGE_MS)
            _wait_idle(page, PAGE_MS)
            # a reason reads "bought <item>; 12 baskets hold both, ...; in 340 baskets overall"
            reasons = page.get_by_test_id("stCaptionContainer").filter(
                has_text=re.compile(r"\bbought\b.*\bbaskets overall"))
            expect(reasons.first).to_be_visible(timeout=PAGE_MS)
            timings["Customers"] = time.perf_counter() - t0
            _assert_no_errors(page, "Customers")

            # Evaluation: every strategy on the held-out orders, a chart and the metric table.
            t0 = time.perf_counter()
            _open(page, "Evaluation", PAGE_MS)
            box = page.get_by_label("Bootstrap resamples", exact=True)
            box.fill("50")
            box.press("Tab")
            page.get_by_role("button", name="Run evaluation").click()
            expect(page.get_by_role("heading", name="All metrics (value)")).to_be_visible(timeout=EXPERIMENT_MS)
            _wait_idle(page, EXPERIMENT_MS)
            expect(page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first).to_be_visible(
                timeout=PAGE_MS)
            timings["Evaluation"] = time.perf_counter() - t0
            _assert_no_errors(page, "Evaluation")

            # Rules: the editor and the list draw (no rule set yet on a fresh database).
            t0 = time.perf_counter()
            _open(page, "Merchandising rules", PAGE_MS)
            expect(page.get_by_role("button", name="Save rule set")).to_be_visible(timeout=PAGE_MS)
            timings["Rules"] = time.perf_counter() - t0
            _assert_no_errors(page, "Rules")

            # Experiments: a short run (smallest horizon, one replicate).
            t0 = time.perf_counter()
            _open(page, "Experiments", PAGE_MS)
            for label, value in (("Visits (horizon)", "100"), ("Replicates", "1")):
                box = page.get_by_label(label, exact=True)
                box.fill(value)
                box.press("Tab")
                expect(box).to_have_value(value)
            page.get_by_role("button", name="Run experiment").click()
            expect(page.get_by_role("heading", name="Policies compared")).to_be_visible(timeout=EXPERIMENT_MS)
            _wait_idle(page, EXPERIMENT_MS)
            expect(page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first).to_be_visible(
                timeout=PAGE_MS)
            timings["Experiments"] = time.perf_counter() - t0
            _assert_no_errors(page, "Experiments")
        except BaseException:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"[browser] failure screenshot: {tmp_path / 'failure.png'}")
            raise
        finally:
            browser.close()
    print("[browser] " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    assert not page_errors, f"uncaught JavaScript errors in the page: {page_errors}"
