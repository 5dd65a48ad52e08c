"""Where the shared real-world data sets and cases live (benchmarks and tests read them; the app never does)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The ``shared/`` folder: ``$CROSS_SELL_SHARED``, else next to the checkout, inside it, or ``/work/shared``.

    Returns the first that exists, else the path next to the checkout (callers skip with a message
    naming it).
    """
    env = os.environ.get("CROSS_SELL_SHARED")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared", ROOT / "shared", Path("/work/shared")]
    return next((p for p in candidates if p.is_dir()), candidates[0])
