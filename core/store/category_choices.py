"""Per-workspace choices for inferred categories: the user's k, cluster names, partial labelling.

Stored in :class:`core.store.models.CategoryChoice`, one row per workspace; deleted with the workspace
(foreign key, ON DELETE CASCADE).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from core.store.models import CategoryChoice
from core.store.repo import _workspace_id, ensure_workspace


@dataclass(frozen=True)
class CategoryChoices:
    """What a user chose for a workspace's inferred categories.

    Attributes
    ----------
    k : int or None
        Number of clusters (>= 2); None: chosen by silhouette.
    names : dict of str to str
        ``{inferred (c-TF-IDF) name: the user's name}``.
    label_uncategorised : bool
        Label the uncategorised products of a partly labelled catalog with the classifier.
    """

    k: int | None = None
    names: dict = field(default_factory=dict)
    label_uncategorised: bool = False

    def __post_init__(self):
        if self.k is not None and (isinstance(self.k, bool) or not isinstance(self.k, int)):
            raise TypeError(f"k must be an int or None, got {type(self.k).__name__}")
        if self.k is not None and self.k < 2:
            raise ValueError(f"k must be >= 2 or None, got {self.k}")
        for key, value in self.names.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"names must map str to str, got {key!r}: {value!r}")
            if not value.strip():
                raise ValueError(f"names: the new name of {key!r} must not be blank")

    def names_tuple(self) -> tuple:
        """The names as a sorted tuple of pairs (hashable: a part of the build settings)."""
        return tuple(sorted((k, v.strip()) for k, v in self.names.items() if k != v.strip()))


def load_category_choices(engine: Engine, workspace: str) -> CategoryChoices:
    """The stored choices of ``workspace`` (defaults when none were saved or the workspace is new)."""
    with engine.connect() as conn:
        try:
            wid = _workspace_id(conn, workspace)
        except Exception:
            return CategoryChoices()
        row = conn.execute(select(CategoryChoice).where(CategoryChoice.workspace_id == wid)).mappings().first()
    if row is None:
        return CategoryChoices()
    return CategoryChoices(k=row["k"], names=json.loads(row["names"] or "{}"),
                           label_uncategorised=bool(row["label_uncategorised"]))


def save_category_choices(engine: Engine, workspace: str, choices: CategoryChoices) -> None:
    """Replace the stored choices of ``workspace`` (one transaction).

    Raises
    ------
    TypeError
        ``choices`` is not a :class:`CategoryChoices`.
    core.errors.WorkspaceError
        Invalid workspace name.
    """
    if not isinstance(choices, CategoryChoices):
        raise TypeError(f"choices must be a CategoryChoices, got {type(choices).__name__}")
    wid = ensure_workspace(engine, workspace)
    with engine.begin() as conn:
        conn.execute(delete(CategoryChoice).where(CategoryChoice.workspace_id == wid))
        conn.execute(insert(CategoryChoice).values(
            workspace_id=wid, k=choices.k, names=json.dumps(dict(choices.names), ensure_ascii=False, sort_keys=True),
            label_uncategorised=int(bool(choices.label_uncategorised))))
