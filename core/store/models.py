"""SQLAlchemy 2.x declarative models. One workspace = one data set (the demo, each upload)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)


class Product(Base):
    __tablename__ = "products"
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[float | None] = mapped_column(Float)
    brand: Mapped[str | None] = mapped_column(Text)


class OrderLine(Base):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[str | None] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    price: Mapped[float | None] = mapped_column(Float)
    ordered_at: Mapped[datetime | None] = mapped_column(DateTime)
    order_number: Mapped[int | None] = mapped_column(Integer)
    #: "product" (counts for baskets) or why it does not: "cancellation", "non_positive_quantity",
    #: "non_product", "not_in_catalog" (core.ingest.clean). Stored either way: nothing is lost.
    line_type: Mapped[str | None] = mapped_column(String(24), default="product")
    __table_args__ = (Index("ix_order_lines_ws_order", "workspace_id", "order_id"),)


class Review(Base):
    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    product_id: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    rating: Mapped[float | None] = mapped_column(Float)
    customer_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime | None] = mapped_column(DateTime)
    __table_args__ = (Index("ix_reviews_ws_product", "workspace_id", "product_id"),)


class ImportLog(Base):
    """One row per accepted upload; ``content_hash`` makes a re-upload of the same bytes a no-op."""
    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    rows_read: Mapped[int] = mapped_column(Integer)
    rows_loaded: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    encoding: Mapped[str] = mapped_column(String(40))
    delimiter: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    added: Mapped[int | None] = mapped_column(Integer)
    changed: Mapped[int | None] = mapped_column(Integer)
    unchanged: Mapped[int | None] = mapped_column(Integer)
    mapping: Mapped[str | None] = mapped_column(Text)     # JSON {canonical: source header}
    report: Mapped[str | None] = mapped_column(Text)      # JSON: warnings, cleaning counts, number formats
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "content_hash", name="uq_import_content"),)


class MappingPreset(Base):
    """A user's saved column mapping, per workspace and kind."""
    __tablename__ = "mapping_presets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    mapping: Mapped[str] = mapped_column(Text)            # JSON {canonical: source header}
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "name", name="uq_preset_name"),)


class EmbeddingCache(Base):
    """Sentence vectors keyed by (model id, sha256 of the text); float32 bytes, L2-normalised."""
    __tablename__ = "embeddings"
    model_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class AppSetting(Base):
    """Key/value settings of one database (e.g. the salt of hashed e-mail addresses)."""
    __tablename__ = "app_settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RuleSetRecord(Base):
    """A merchandiser's named rule set (``core.rules.RuleSet.to_json``) per workspace; at most one is active
    (the one previews, evaluation and experiments apply; none active = no rules). core.store.rules."""
    __tablename__ = "rule_sets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    definition: Mapped[str] = mapped_column(Text)         # JSON of RuleSet.to_dict()
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_rule_set_name"),)


class CategoryChoice(Base):
    """A workspace's choices for inferred categories (core.categories), kept across rebuilds.

    ``names`` is JSON ``{inferred name: name given by the user}``, keyed by the c-TF-IDF name so a
    rename follows its cluster through rebuilds of the same data; ``k`` is the number of clusters the
    user set (NULL: chosen by silhouette); ``label_uncategorised`` asks the classifier to label the
    uncategorised products of a partly labelled catalog.
    """
    __tablename__ = "category_choices"
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    k: Mapped[int | None] = mapped_column(Integer)
    names: Mapped[str] = mapped_column(Text, default="{}")
    label_uncategorised: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
