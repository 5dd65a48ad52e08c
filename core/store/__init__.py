"""Storage: SQLAlchemy 2.x models and the few operations the product needs."""
from core.store.db import default_url, make_engine
from core.store.repo import (
    ImportOutcome, delete_workspace, get_cached_vectors, import_result, list_imports,
    list_workspaces, load_workspace, put_cached_vectors, ensure_workspace, WorkspaceData,
)

__all__ = ["default_url", "make_engine", "ImportOutcome", "delete_workspace", "get_cached_vectors",
           "import_result", "list_imports", "list_workspaces", "load_workspace", "put_cached_vectors",
           "ensure_workspace", "WorkspaceData"]
