"""Content: items whose text is closest to the customer's embedding profile (language model only).

profile_u = sum_h c_uh e_h / sum_h c_uh        (count-weighted mean of the bought items' L2-normalised
                                                embeddings e_h; c_uh = order lines of h)
score_uj  = cos(profile_u, e_j) = e_j . profile_u / |profile_u|          in [-1, 1]

The standard content-based profile (Lops, de Gemmis & Semeraro, "Content-based Recommender Systems:
State of the Art and Trends", Recommender Systems Handbook, 2011). The score splits into one term per
bought item, c_uh (e_h . e_j) / (sum c |profile|); the reason names the item with the largest term.
"""
from __future__ import annotations

import numpy as np

from core.recommend.base import Strategy


class ContentProfile(Strategy):
    """Cosine between the customer's count-weighted embedding profile and every item's embedding.

    Raises
    ------
    RuntimeError at recommendation time when the model has no embeddings (text switched off).
    """

    name = "content profile"

    def fit(self, model):
        super().fit(model)
        # float64 and rounded to 1e-12: a batch (matrix product) and a single customer (vector product)
        # then give the same scores, so ties break alike
        self._e = None if model.embeddings is None else np.asarray(model.embeddings, dtype=np.float64)
        return self

    def _prepare(self, histories):
        e = self._e
        if e is None:
            raise RuntimeError("the content profile needs embeddings; build with text enabled")
        prof = np.zeros((len(histories), e.shape[1]), dtype=np.float64)
        for i, (h, c) in enumerate(histories):
            w = np.asarray(c, dtype=np.float64)
            prof[i] = (w @ e[h]) / w.sum()
        norms = np.linalg.norm(prof, axis=1)
        scale = np.where(norms > 0, norms, 1.0)
        scores = np.round((prof / scale[:, None]) @ e.T, 12)          # (b, n_items)
        return list(scores)

    def _scores(self, hist, counts, prepared=None):
        m = self.model
        scores = prepared if prepared is not None else self._prepare([(hist, counts)])[0]
        w = np.asarray(counts, dtype=np.float64)

        def reason(j):
            sims = m.embeddings[hist] @ m.embeddings[j]
            b = int(np.argmax(w * sims))
            h = int(hist[b])
            return (f"close to what they buy: cosine {scores[j]:.2f} to the profile of their {len(hist)} bought "
                    f"item{'s' if len(hist) != 1 else ''}; nearest contributor {m.describe_item(h)} "
                    f"(text similarity {float(sims[b]):.2f}, bought {int(w[b])}x)")
        return scores, reason
