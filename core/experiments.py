r"""Simulated A/B tuning grounded in held-out orders.

1. Hold out each customer's last order (``leave_last_order_out``); fit the strategies on the rest.
2. For each held-out customer and strategy (arm): does the top-k slate contain an item of the held-out
   order? That 0/1 matrix is the ground truth; an arm's true conversion rate is its column mean.
3. Replay bandit policies against it (``core.bandits.simulate``): each simulated visit is a held-out
   customer drawn at random; regret is computed from the true rates.
4. Optional segment context (``segments``: customer_id -> segment, e.g. the RFM segment or profile cluster of
   :mod:`core.customers`): conversion per arm within each segment, and a *contextual* variant of every policy,
   one independent bandit per segment (a visit is routed to its segment's bandit), replayed on exactly the same
   visits as the pooled policy (same seed, same draws of customers) so the two are compared pair-wise. Both are
   scored by regret against the per-segment oracle, which shows the best arm of the visitor's segment:

   .. math:: R^{seg}_t = \sum_{s \le t} \big(p^*_{g_s} - p_{g_s, a_s}\big), \qquad p^*_g = \max_a p_{g, a}

   with :math:`g_s` the segment of visit *s* and :math:`p_{g,a}` arm *a*'s held-out conversion rate among the
   held-out customers of segment *g*. This regret is >= 0 and non-decreasing for any policy; a pooled policy
   that settles on the best overall arm keeps paying :math:`p^*_g - p_{g,a}` in segments where another arm
   wins, while the per-segment bandits pay for exploring in every segment (Li et al., "A contextual-bandit
   approach to personalized news article recommendation", WWW 2010, discuss this trade-off; a bandit per
   segment is their simplest, disjoint, context model).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from core.bandits import POLICIES, SimulationResult, arm_table, simulate, wilson_interval
from core.bandits.policies import EpsilonGreedy
from core.errors import EmptyDataError
from core.evaluation.holdout import slate_hits

NO_SEGMENT = "(no segment)"
POOLED, PER_SEGMENT = "pooled", "per segment"


@dataclass(frozen=True)
class ExperimentSettings:
    """Settings of a simulated experiment.

    Parameters
    ----------
    horizon : int >= 10        simulated visits per replicate
    replicates : int in [1, 500]
    seed : int >= 0
    slate_size : int in [1, 100]   recommendations shown per visit (k)
    epsilon : float in [0, 1]   exploration rate of epsilon-greedy
    policies : tuple of names from core.bandits.POLICIES
    """

    horizon: int = 3000
    replicates: int = 10
    seed: int = 2026
    slate_size: int = 10
    epsilon: float = 0.1
    policies: tuple = tuple(POLICIES)

    def __post_init__(self):
        for name, lo, hi in (("horizon", 10, 1_000_000), ("replicates", 1, 500), ("slate_size", 1, 100),
                             ("seed", 0, 2**63 - 1)):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise TypeError(f"{name} must be an int, got {type(v).__name__}")
            if not lo <= v <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}], got {v}")
        if not 0 <= self.epsilon <= 1:
            raise ValueError(f"epsilon must be in [0, 1], got {self.epsilon}")
        unknown = [p for p in self.policies if p not in POLICIES]
        if unknown or not self.policies:
            raise ValueError(f"policies must be a non-empty subset of {list(POLICIES)}, got {list(self.policies)}")


@dataclass(frozen=True)
class ExperimentResult:
    """Ground truth and one simulation per policy.

    Attributes
    ----------
    hits : DataFrame (customers x arms) of 0/1.
    arms : DataFrame: arm, rate (held-out conversion), customers, conversions, ci_low, ci_high (Wilson 95%).
    runs : dict policy name -> SimulationResult.
    settings : ExperimentSettings
    segments : Series or None
        customer_id (the index of ``hits``) -> segment label (:data:`NO_SEGMENT` for customers the given
        mapping lacks); None when the experiment ran without segments.
    segment_arms : DataFrame or None
        segment, arm, customers, conversions, rate, ci_low, ci_high (Wilson 95%), best (the arm with the
        highest rate in the segment; ties: the first arm); None without segments.
    contextual_runs : dict or None
        policy name -> SimulationResult of the per-segment variant (one independent bandit per segment, same
        visits as ``runs[name]``); its ``regret`` is against the pooled best arm like the pooled runs.
    segment_regret : dict or None
        (policy name, 'pooled' | 'per segment') -> ndarray (replicates, horizon): cumulative regret against
        the per-segment oracle (module docstring).
    visit_segments : ndarray or None
        (replicates, horizon) int: the segment (index into the sorted segment labels) of each simulated visit,
        the same for every policy and variant.
    """

    hits: pd.DataFrame
    arms: pd.DataFrame
    runs: dict
    settings: ExperimentSettings
    segments: pd.Series | None = None
    segment_arms: pd.DataFrame | None = None
    contextual_runs: dict | None = None
    segment_regret: dict | None = None
    visit_segments: np.ndarray | None = None

    def segment_traffic(self, last_share: float = 1.0) -> pd.DataFrame:
        """Where each variant sends each segment's visits.

        Parameters
        ----------
        last_share : float in (0, 1]
            Count only the last share of the horizon (e.g. 0.1: what the bandits settled on).

        Returns
        -------
        DataFrame
            policy, variant, segment, arm, visits (summed over replicates), conversions, share (of the segment's
            visits in that window, in [0, 1]; sums to 1 per policy, variant and segment), best (the segment's
            best held-out arm, as in ``segment_arms``).

        Raises
        ------
        ValueError
            The experiment ran without segments, or ``last_share`` is out of range.
        """
        if not self.has_segments:
            raise ValueError("the experiment ran without segments")
        if not 0 < last_share <= 1:
            raise ValueError(f"last_share must be in (0, 1], got {last_share}")
        names = sorted(self.segments.unique())
        arm_names = list(self.hits.columns)
        n_g, n_a = len(names), len(arm_names)
        h = self.visit_segments.shape[1]
        start = h - max(1, int(round(h * last_share)))
        seg = self.visit_segments[:, start:].ravel()
        frames = []
        for name in self.runs:
            for variant, run in ((POOLED, self.runs[name]), (PER_SEGMENT, self.contextual_runs[name])):
                cell = seg * n_a + run.arms[:, start:].ravel()
                visits = np.bincount(cell, minlength=n_g * n_a)
                conv = np.bincount(cell, weights=run.rewards[:, start:].ravel(), minlength=n_g * n_a)
                tot = np.repeat(visits.reshape(n_g, n_a).sum(axis=1), n_a)
                frames.append(pd.DataFrame({
                    "policy": name, "variant": variant, "segment": np.repeat(names, n_a),
                    "arm": np.tile(arm_names, n_g), "visits": visits,
                    "conversions": conv, "share": np.divide(visits, tot, out=np.zeros(len(tot)), where=tot > 0)}))
        out = pd.concat(frames, ignore_index=True)
        best = self.segment_arms.loc[self.segment_arms["best"], ["segment", "arm"]]
        out["best"] = pd.MultiIndex.from_frame(out[["segment", "arm"]]).isin(pd.MultiIndex.from_frame(best))
        return out

    @property
    def has_segments(self) -> bool:
        return self.segments is not None

    def segment_summary(self) -> pd.DataFrame:
        """Pooled against per-segment bandits, per policy.

        Returns
        -------
        DataFrame
            policy, variant ('pooled' / 'per segment'), conversions (mean over replicates), conversion_rate,
            segment_regret (final regret against the per-segment oracle, mean) with its 2.5 / 97.5 percentiles,
            oracle_rate (expected rate of showing each visitor their segment's best arm), best_arm_rate (the
            best single arm's held-out rate).

        Raises
        ------
        ValueError
            The experiment ran without segments.
        """
        if not self.has_segments:
            raise ValueError("the experiment ran without segments")
        oracle = float(self.segment_arms.groupby("segment")["rate"].max()
                       .mul(self.segment_arms.groupby("segment")["customers"].first()).sum() / len(self.hits))
        rows = []
        for name in self.runs:
            for variant, run in ((POOLED, self.runs[name]), (PER_SEGMENT, self.contextual_runs[name])):
                fin = self.segment_regret[(name, variant)][:, -1]
                rows.append({"policy": name, "variant": variant, "conversions": run.cumulative_reward[:, -1].mean(),
                             "conversion_rate": run.rewards.mean(), "segment_regret": fin.mean(),
                             "segment_regret_p2.5": np.percentile(fin, 2.5),
                             "segment_regret_p97.5": np.percentile(fin, 97.5),
                             "oracle_rate": oracle, "best_arm_rate": float(self.arms["rate"].max())})
        return pd.DataFrame(rows)

    def segment_curves(self) -> pd.DataFrame:
        """Per step, policy and variant: mean regret against the per-segment oracle over replicates, with the
        2.5 and 97.5 percentiles (regret_low / regret_high); <= 400 points per curve.

        Raises
        ------
        ValueError
            The experiment ran without segments.
        """
        if not self.has_segments:
            raise ValueError("the experiment ran without segments")
        rows = []
        for (name, variant), arr in self.segment_regret.items():
            step = np.unique(np.linspace(0, arr.shape[1] - 1, min(400, arr.shape[1])).astype(int))
            rows.append(pd.DataFrame({"policy": name, "variant": variant, "step": step + 1,
                                      "regret": arr[:, step].mean(axis=0),
                                      "regret_low": np.percentile(arr[:, step], 2.5, axis=0),
                                      "regret_high": np.percentile(arr[:, step], 97.5, axis=0)}))
        return pd.concat(rows, ignore_index=True)

    def curves(self, value: str) -> pd.DataFrame:
        """Per step and policy: mean of ``value`` ('regret' or 'cumulative_reward') over replicates, with the
        2.5 and 97.5 percentiles as ``<value>_low``/``<value>_high``. Thinned to <= 400 points per policy."""
        rows = []
        for name, run in self.runs.items():
            arr = getattr(run, value)
            step = np.unique(np.linspace(0, arr.shape[1] - 1, min(400, arr.shape[1])).astype(int))
            rows.append(pd.DataFrame({"policy": name, "step": step + 1, value: arr[:, step].mean(axis=0),
                                      f"{value}_low": np.percentile(arr[:, step], 2.5, axis=0),
                                      f"{value}_high": np.percentile(arr[:, step], 97.5, axis=0)}))
        return pd.concat(rows, ignore_index=True)

    def traffic(self, policy: str) -> pd.DataFrame:
        """Cumulative share of visits per arm over time for one policy (step, arm, share)."""
        run = self.runs[policy]
        share = run.traffic_share()
        step = np.unique(np.linspace(0, share.shape[0] - 1, min(300, share.shape[0])).astype(int))
        names = list(self.hits.columns)
        return pd.DataFrame([(s + 1, names[a], share[s, a]) for s in step for a in range(share.shape[1])],
                            columns=["step", "arm", "share"])

    def policy_tables(self) -> pd.DataFrame:
        """Per policy and arm: visits, conversions, realised rate with Wilson 95% interval, traffic share."""
        frames = []
        for name, run in self.runs.items():
            t = arm_table(run, list(self.hits.columns))
            t.insert(0, "policy", name)
            frames.append(t)
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Per policy: total conversions (mean over replicates), conversion rate, final regret (mean, 95% range)."""
        rows = []
        for name, run in self.runs.items():
            fin = run.regret[:, -1]
            rows.append({"policy": name, "conversions": run.cumulative_reward[:, -1].mean(),
                         "conversion_rate": run.rewards.mean(), "final_regret": fin.mean(),
                         "regret_p2.5": np.percentile(fin, 2.5), "regret_p97.5": np.percentile(fin, 97.5),
                         "best_arm_share_last_10pct": float((run.arms[:, -max(1, run.horizon // 10):]
                                                             == int(np.argmax(run.true_means))).mean())})
        return pd.DataFrame(rows)


def run_experiment(strategies: Sequence, test: pd.DataFrame, settings: ExperimentSettings = ExperimentSettings(),
                   progress: Callable[[float, str], None] | None = None,
                   segments: pd.Series | None = None) -> ExperimentResult:
    """Score every strategy's slates on held-out orders, then replay each policy.

    Parameters
    ----------
    strategies : fitted strategies (the arms), fit on the training orders only.
    test : held-out order lines (customer_id, product_id).
    settings : ExperimentSettings
    progress : callable(fraction, message), optional
    segments : Series, optional
        customer_id -> segment label, computed from the training orders only, e.g.
        ``core.customers.customer_segments(train, catalog, by="rfm")`` (or ``by="cluster"``). Adds the
        per-segment tables and the contextual variant (see :func:`experiment_from_hits`).

    Raises
    ------
    EmptyDataError (from the simulator) when no held-out customer is known to the strategies.
    TypeError when ``segments`` is not a Series.
    """
    p = progress or (lambda f, m: None)
    hits = slate_hits(strategies, test, settings.slate_size, progress=lambda f, m: p(0.8 * f, m))
    return experiment_from_hits(hits, settings, segments=segments, progress=lambda f, m: p(0.8 + 0.2 * f, m))


def _segment_codes(index: pd.Index, segments: pd.Series) -> tuple[pd.Series, np.ndarray, list]:
    if not isinstance(segments, pd.Series):
        raise TypeError(f"segments must be a pandas Series (customer_id -> segment), got {type(segments).__name__}")
    seg = segments.copy()
    seg.index = seg.index.astype(str)
    seg = seg[~seg.index.duplicated(keep="first")]
    labels = pd.Series(index.astype(str), index=index).map(seg)
    labels = labels.where(labels.notna(), NO_SEGMENT).astype(str).rename("segment")
    codes, names = pd.factorize(labels, sort=True)
    return labels, codes, list(names)


def _segment_arm_table(hits: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    g = hits.groupby(labels.to_numpy(), sort=True)
    conv = g.sum()
    n = g.size()
    long = conv.stack().rename("conversions").reset_index()
    long.columns = ["segment", "arm", "conversions"]
    long["customers"] = long["segment"].map(n).astype(int)
    long["rate"] = long["conversions"] / long["customers"]
    lo, hi = wilson_interval(long["conversions"].to_numpy(), long["customers"].to_numpy())
    long["ci_low"], long["ci_high"] = lo, hi
    arm_pos = {a: i for i, a in enumerate(hits.columns)}
    long["_pos"] = long["arm"].map(arm_pos)
    long = long.sort_values(["segment", "_pos"], kind="stable")
    best = long.sort_values(["segment", "rate", "_pos"], ascending=[True, False, True], kind="stable") \
        .groupby("segment").head(1).index
    long["best"] = long.index.isin(best)
    return long[["segment", "arm", "customers", "conversions", "rate", "ci_low", "ci_high", "best"]] \
        .reset_index(drop=True)


def simulate_per_segment(rewards: np.ndarray, segment_codes: np.ndarray, policy: Callable, horizon: int,
                         seed: int, replicates: int = 1) -> tuple[SimulationResult, np.ndarray]:
    """One independent bandit per segment, replayed on the same visits as :func:`core.bandits.simulate`.

    Each replicate's generator (child *r* of ``SeedSequence(seed).spawn(replicates)``) first draws the
    ``horizon`` visitors exactly as :func:`core.bandits.simulate` does (``rng.integers(n_contexts, size=horizon)``),
    so a pooled and a per-segment run with the same seed see the same customers in the same order. Each visit
    is then served by the bandit of the visitor's segment (a fresh ``policy()`` per segment and replicate).

    Parameters
    ----------
    rewards : ndarray (n_contexts, n_arms) of 0/1
    segment_codes : ndarray (n_contexts,) of int in [0, n_segments)
    policy : zero-argument policy factory
    horizon, seed, replicates : int

    Returns
    -------
    (SimulationResult, visits)
        The result (``true_means`` and ``regret`` as in :func:`core.bandits.simulate`: against the pooled best
        arm) and the visited rows, ndarray (replicates, horizon) of int.

    Raises
    ------
    ValueError
        ``segment_codes`` does not have one code per row of ``rewards``.
    """
    table = np.asarray(rewards, dtype=np.float64)
    codes = np.asarray(segment_codes, dtype=np.int64)
    if codes.shape != (table.shape[0],):
        raise ValueError(f"segment_codes must have shape ({table.shape[0]},), got {codes.shape}")
    if table.shape[0] == 0:
        raise EmptyDataError("no held-out customers to simulate visits from (rewards has 0 rows)")
    n_contexts, n_arms = table.shape
    n_seg = int(codes.max()) + 1
    arms = np.empty((replicates, horizon), dtype=np.int64)
    got = np.empty((replicates, horizon), dtype=np.float64)
    visits_all = np.empty((replicates, horizon), dtype=np.int64)
    name = ""
    for r, ss in enumerate(np.random.SeedSequence(seed).spawn(replicates)):
        rng = np.random.default_rng(ss)
        bandits = []
        for _ in range(n_seg):
            b = policy()
            b.reset(n_arms)
            bandits.append(b)
        name = getattr(bandits[0], "name", type(bandits[0]).__name__)
        visits = rng.integers(n_contexts, size=horizon)
        rows = table[visits].tolist()
        segs = codes[visits].tolist()
        played = [0] * horizon
        earned = [0.0] * horizon
        for t in range(horizon):
            b = bandits[segs[t]]
            a = b.select(rng)
            x = rows[t][a]
            b.update(a, x)
            played[t] = a
            earned[t] = x
        arms[r], got[r], visits_all[r] = played, earned, visits
    means = table.mean(axis=0)
    gaps = means.max() - means
    res = SimulationResult(arms=arms, rewards=got, true_means=means, cumulative_reward=np.cumsum(got, axis=1),
                           regret=np.cumsum(gaps[arms], axis=1), policy_name=f"{name} per segment", seed=seed)
    return res, visits_all


def _pooled_visits(n_contexts: int, horizon: int, seed: int, replicates: int) -> np.ndarray:
    """The visitors :func:`core.bandits.simulate` draws first in each replicate (documented there)."""
    return np.stack([np.random.default_rng(ss).integers(n_contexts, size=horizon)
                     for ss in np.random.SeedSequence(seed).spawn(replicates)])


def experiment_from_hits(hits: pd.DataFrame, settings: ExperimentSettings = ExperimentSettings(),
                         segments: pd.Series | None = None,
                         progress: Callable[[float, str], None] | None = None) -> ExperimentResult:
    """Replay each policy on a ground-truth 0/1 matrix (held-out customers x arms), optionally per segment.

    Parameters
    ----------
    hits : DataFrame
        Index customer_id, one 0/1 column per arm (:func:`core.evaluation.holdout.slate_hits`).
    settings : ExperimentSettings
    segments : Series, optional
        customer_id -> segment label; held-out customers it lacks form the segment :data:`NO_SEGMENT`.
    progress : callable(fraction, message), optional

    Returns
    -------
    ExperimentResult
        With ``segments``, also ``segment_arms``, ``contextual_runs`` and ``segment_regret``.

    Raises
    ------
    EmptyDataError
        ``hits`` has no rows.
    TypeError
        ``segments`` is not a Series.
    """
    p = progress or (lambda f, m: None)
    conv = hits.sum(axis=0).to_numpy()
    n = len(hits)
    lo, hi = wilson_interval(conv, np.full(len(conv), n))
    arms = pd.DataFrame({"arm": hits.columns, "rate": conv / max(n, 1), "customers": n, "conversions": conv,
                         "ci_low": lo, "ci_high": hi})
    if segments is not None:
        labels, codes, _ = _segment_codes(hits.index, segments)
    table = hits.to_numpy()
    n_pol = len(settings.policies)
    runs, ctx_runs, seg_regret = {}, {}, {}
    for i, name in enumerate(settings.policies):
        p(i / n_pol, f"simulating {name}")
        factory = (lambda: EpsilonGreedy(settings.epsilon)) if POLICIES[name] is EpsilonGreedy else POLICIES[name]
        runs[name] = simulate(table, factory, settings.horizon, settings.seed, settings.replicates)
        if segments is not None:
            p((i + 0.5) / n_pol, f"simulating {name}, one bandit per segment")
            ctx_runs[name], visits = simulate_per_segment(table, codes, factory, settings.horizon, settings.seed,
                                                          settings.replicates)
            pooled_visits = _pooled_visits(n, settings.horizon, settings.seed, settings.replicates)
            if not np.array_equal(visits, pooled_visits):  # pair-wise comparison needs the same visitors
                raise RuntimeError("core.bandits.simulate no longer draws its visitors first; the per-segment "
                                   "replay cannot reproduce them")
            rates = np.vstack([table[codes == g].mean(axis=0) for g in range(int(codes.max()) + 1)])
            gap = rates.max(axis=1, keepdims=True) - rates            # (segments, arms) >= 0
            seg_of = codes[visits]
            seg_regret[(name, POOLED)] = np.cumsum(gap[seg_of, runs[name].arms], axis=1)
            seg_regret[(name, PER_SEGMENT)] = np.cumsum(gap[seg_of, ctx_runs[name].arms], axis=1)
    p(1.0, "done")
    if segments is None:
        return ExperimentResult(hits, arms, runs, settings)
    return ExperimentResult(hits, arms, runs, settings, segments=labels,
                            segment_arms=_segment_arm_table(hits, labels), contextual_runs=ctx_runs,
                            segment_regret=seg_regret, visit_segments=seg_of)
