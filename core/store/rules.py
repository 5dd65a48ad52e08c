"""Named merchandiser rule sets (:class:`core.rules.RuleSet`) per workspace, and which one is active.

Each function runs in one transaction. A rule set is stored as its JSON (``RuleSet.to_json``) and validated
again when read. At most one rule set per workspace is active: the one previews, evaluation and experiments
apply (none active = no rules).
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from core.errors import CrossSellError
from core.rules import RuleSet
from core.store.models import RuleSetRecord, _now
from core.store.repo import _workspace_id


class RuleSetNotFound(CrossSellError, LookupError):
    """The workspace has no rule set of that name."""


def _missing(name: str, workspace: str) -> RuleSetNotFound:
    return RuleSetNotFound(f"workspace {workspace!r} has no rule set named {name!r}")


def save_rule_set(engine: Engine, workspace: str, rules: RuleSet) -> None:
    """Store ``rules`` under ``rules.name`` in ``workspace``, replacing a rule set of that name (it keeps its
    active flag).

    Raises
    ------
    TypeError if ``rules`` is not a RuleSet; WorkspaceError if the workspace does not exist.
    """
    if not isinstance(rules, RuleSet):
        raise TypeError(f"rules must be a RuleSet, got {type(rules).__name__}")
    with engine.begin() as conn:
        wid = _workspace_id(conn, workspace)
        rid = conn.execute(select(RuleSetRecord.id).where(
            RuleSetRecord.workspace_id == wid, RuleSetRecord.name == rules.name)).scalar()
        if rid is None:
            conn.execute(insert(RuleSetRecord).values(workspace_id=wid, name=rules.name,
                                                      definition=rules.to_json(), active=False))
        else:
            conn.execute(update(RuleSetRecord).where(RuleSetRecord.id == rid).values(
                definition=rules.to_json(), updated_at=_now()))


def list_rule_sets(engine: Engine, workspace: str) -> pd.DataFrame:
    """The workspace's rule sets by name. Columns: name, active (bool), summary (``RuleSet.summary()``),
    updated_at (naive UTC). Raises WorkspaceError if the workspace does not exist."""
    with engine.connect() as conn:
        wid = _workspace_id(conn, workspace)
        rows = conn.execute(select(RuleSetRecord.name, RuleSetRecord.active, RuleSetRecord.definition,
                                   RuleSetRecord.updated_at)
                            .where(RuleSetRecord.workspace_id == wid).order_by(RuleSetRecord.name)).all()
    return pd.DataFrame([(n, bool(a), RuleSet.from_json(d).summary(), t) for n, a, d, t in rows],
                        columns=["name", "active", "summary", "updated_at"])


def load_rule_set(engine: Engine, workspace: str, name: str) -> RuleSet:
    """The stored rule set ``name``.

    Raises
    ------
    RuleSetNotFound if there is none; WorkspaceError if the workspace does not exist.
    """
    with engine.connect() as conn:
        wid = _workspace_id(conn, workspace)
        text = conn.execute(select(RuleSetRecord.definition).where(
            RuleSetRecord.workspace_id == wid, RuleSetRecord.name == name)).scalar()
    if text is None:
        raise _missing(name, workspace)
    return RuleSet.from_json(text)


def delete_rule_set(engine: Engine, workspace: str, name: str) -> None:
    """Delete rule set ``name`` (if it was active, the workspace then has no active rules).

    Raises
    ------
    RuleSetNotFound if there is none; WorkspaceError if the workspace does not exist.
    """
    with engine.begin() as conn:
        wid = _workspace_id(conn, workspace)
        gone = conn.execute(RuleSetRecord.__table__.delete().where(
            RuleSetRecord.workspace_id == wid, RuleSetRecord.name == name)).rowcount
        if not gone:
            raise _missing(name, workspace)


def get_active_rule_set(engine: Engine, workspace: str) -> RuleSet | None:
    """The workspace's active rule set, or None (no rules). Raises WorkspaceError for an unknown workspace."""
    with engine.connect() as conn:
        wid = _workspace_id(conn, workspace)
        text = conn.execute(select(RuleSetRecord.definition).where(
            RuleSetRecord.workspace_id == wid, RuleSetRecord.active.is_(True)).order_by(RuleSetRecord.id)).first()
    return None if text is None else RuleSet.from_json(text[0])


def set_active_rule_set(engine: Engine, workspace: str, name: str | None) -> None:
    """Make ``name`` the workspace's only active rule set; None: no rule set is active.

    Raises
    ------
    RuleSetNotFound if there is no rule set ``name`` (nothing changes); WorkspaceError for an unknown workspace.
    """
    with engine.begin() as conn:
        wid = _workspace_id(conn, workspace)
        if name is not None:
            rid = conn.execute(select(RuleSetRecord.id).where(
                RuleSetRecord.workspace_id == wid, RuleSetRecord.name == name)).scalar()
            if rid is None:
                raise _missing(name, workspace)
        conn.execute(update(RuleSetRecord).where(RuleSetRecord.workspace_id == wid, RuleSetRecord.active.is_(True))
                     .values(active=False))
        if name is not None:
            conn.execute(update(RuleSetRecord).where(RuleSetRecord.id == rid).values(active=True))
