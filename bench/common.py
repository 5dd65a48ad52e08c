"""What every benchmark prints about its run: machine load and the commit measured.

Standard library only: bench_ingest.py's parent process must not import pandas (its children's
peak RSS would inherit the parent's).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_average() -> str:
    """1/5/15-minute load averages: above the CPU count, other processes share the cores and seconds inflate."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # pragma: no cover - not on every platform
        return "load average unknown"
    busy = "  (busy machine: compare ratios, not seconds)" if five > (os.cpu_count() or 1) else ""
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} CPUs{busy}"


def revision(watched: str = "core") -> str:
    """The commit benchmarked, and whether ``watched`` had uncommitted changes (numbers then belong to no commit)."""
    if os.environ.get("BENCH_REVISION"):  # a snapshot (git archive) that is not a checkout names its commit
        return f"{ROOT}: {os.environ['BENCH_REVISION']} (BENCH_REVISION)"

    def git(*a):
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", watched)
    except (OSError, subprocess.SubprocessError):
        return "git unavailable"
    if not head:
        return f"{ROOT}: not a git checkout"
    extra = f" + uncommitted changes in {watched} ({len(dirty.splitlines())} files)" if dirty else ""
    return f"{ROOT}: commit {head}{extra}"
