"""Splitters and metrics: pure functions over frames and arrays."""
from core.evaluation.split import leave_last_order_out, order_sequence
from core.evaluation.holdout import slate_hits

__all__ = ["leave_last_order_out", "order_sequence", "slate_hits"]
