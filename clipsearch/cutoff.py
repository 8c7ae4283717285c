"""The automatic relevance cut-off: which of a query's results match, decided per query.

A flat score threshold cannot work: CLIP's scores shift from query to query (a text query to
images sits around 0.2-0.35 with real CLIP, an image query near 0.6-0.9, a composite ``a - b``
somewhere else again). So the cut-off looks only at the shape of this query's own scores, never
at their level, in two steps:

1. **A distinct top group.** In the best candidates (sorted), a gap that is large against the
   spacing of the scores around it (both inside the group above it and below it) ends a group of
   results that stand apart from everything else: a narrow query's handful of answers. Under a
   smooth score density, a spacing is about exponential around the local mean spacing, so a gap
   ``GAP_RATIO`` (5) times larger has odds of about e^-5 at one position. Unless the group is
   only the best of the matches the fit of step 2 finds: when that fit keeps several times as
   many (``GROUP_INSIDE``) and the group stands less than ``NATURAL_TOP`` standard deviations
   above the rest of them, where the best few of a hundred draws from one bell curve stand
   (a broad query's best scores can stand apart by chance), or less than ``LIBRARY_TOP`` above
   the rest of the library (a narrow query's answers stand apart from everything; a broad
   query's best few stay within the spread its many matches give the library's scores).
   A group under a weaker gap (``WEAK_GAP``) decides too when the fit keeps many times as many
   (``LOOK_ALIKES``), the group stands far above them (``HIGH_STANDING``), and they spread about
   as wide as the rest of the library (``LOOK_ALIKE_SPREAD``): a mix of near misses, such as the
   other yellow things and the other things on black under "a yellow triangle on a black
   background", not the one population of a broad query's matches, which spreads narrower.
2. **Otherwise, a two-part mixture over the whole library.** The scores of a random sample of the
   library (weighted to stand for all of it) plus the exact best candidates are fitted with two
   Gaussians (EM). Each score then has a probability of belonging to the upper part, and the
   threshold is the one that maximizes the F1 expected under those probabilities. Broad queries
   (a fifth of the library) are decided here. EM starts from several splits; when the fits it
   reaches describe the scores equally well (``EQUALLY_LIKELY``), the one with the larger upper
   part is taken: a broad query's matches are seldom one bell curve, and their best-scoring part
   often fits as a small bump of its own, inside the matches rather than at their end.

Everything is relative to the query's own scores, so no constant depends on a model's range.
NumPy; a decision costs about 1.5 ms of CPU (see benchmarks/bench_cutoff.py). Concurrent
queries' fits share one EM (``clipsearch.coalesce``): the same fits, in fewer NumPy calls. A
server switches to the same EM compiled (``use_compiled_fits``, ``clipsearch.mixture_jit``):
0.5 ms a decision, and no interpreter lock held while it fits.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .coalesce import Coalescer
from .memory import keeping_out
from .mixture import PartFit, compiled_mixture_fits, mixture_fits, skewed_bump_loglik

log = logging.getLogger(__name__)

# How many of the best scores and how many random library scores the cut-off looks at.
TOP_CANDIDATES = 100
SAMPLE_SIZE = 2048
# A gap this many times the local spacing ends a distinct top group (about e^-5 by chance).
GAP_RATIO = 5.0
# A top group needs at least this many members: a single outlier on top is not a group.
MIN_GROUP = 2
# Fits whose log-likelihoods, over the scores actually seen, differ by at most this describe them
# equally well (a likelihood ratio of e^4, about 55: what Akaike's criterion asks of two extra
# parameters, twice over): between two such splits, the one with the larger upper part is taken.
EQUALLY_LIKELY = 4.0
# ...and only for an upper part a broad query's matches could be (a tenth of the library or more):
# between two small splits of a bulk's tail, the most likely one stays.
BROAD = 0.1
# A distinct top group is only the top of the matches the two-part fit finds when the fit keeps at
# least this many times as many...
GROUP_INSIDE = 3
# ...and the group's mean stands less than this many standard deviations above the rest of them:
# the best 2-20 of 100 draws from one bell curve stand 2.3-2.5 above the others on average, and
# above 3 about one time in twenty (a group of the matches' own stands higher).
NATURAL_TOP = 3.0
# A top group under a weaker gap (at least WEAK_GAP times the local spacing) still decides when
# the fit keeps LOOK_ALIKES times as many or more, the group stands at least HIGH_STANDING
# standard deviations above the rest of them, and those spread at least LOOK_ALIKE_SPREAD times as
# wide as the scores below the fit's cut: look-alikes (one colour, one shape) under the answers.
LOOK_ALIKES = 5
WEAK_GAP = 3.3
HIGH_STANDING = 3.25
LOOK_ALIKE_SPREAD = 0.65
# ...or it stands less than this many above the rest of the library: a group of answers stands
# apart from everything else, where a broad query's best few are within its matches' spread.
LIBRARY_TOP = 2.7
# When step 3 decides (one skewed bump: no population of matches), a group among its FEW best, set
# apart by a gap at least NESTED_GAP times the spacing around it, is the answer when step 3's cut
# keeps GROUP_INSIDE times as many, and the group stands at least NATURAL_TOP deviations above the
# rest of those even without its best photo, and above the rest of the library: a few answers over
# the look-alikes that the widest gap of the 100 best left with them.
FEW = 10
NESTED_GAP = 2.0
_BINS = 128


@dataclass(frozen=True)
class Cutoff:
    """Where a query's results stop matching.

    ``threshold``: scores at or above it are strong matches. ``matches``: how many the whole
    library is estimated to hold. ``method``: "gap", "mixture", or "none" when there was
    nothing to decide on (every result is then strong).
    """

    threshold: float
    matches: float
    method: str

    def is_strong(self, score: float) -> bool:
        return score >= self.threshold


def relevance_cutoff(top: np.ndarray, sample: np.ndarray | None = None, total: int | None = None) -> Cutoff:
    """Decide the cut-off of one query.

    ``top``: the best scores of the query (any order; the more of the library's best, the better,
    ``TOP_CANDIDATES`` is plenty). ``sample``: the query's scores against a uniform random sample
    of the library (``SAMPLE_SIZE`` is plenty; None or empty: the top scores alone). ``total``: how
    many images the library holds (default: as many as ``top``).
    """
    return relevance_cutoffs([(top, sample, total)])[0]


def relevance_cutoffs(queries: Sequence[tuple[np.ndarray, np.ndarray | None, int | None]]) -> list[Cutoff]:
    """``relevance_cutoff`` of several queries at once, (top, sample, total) each: the terms of a
    composite query. The same decisions, with the mixture fits of all of them in one EM."""
    decided: list[Cutoff | None] = []
    fitting = []  # (position, sorted top, its distinct group's size, whether it stands within the
    #              library's spread, sample, library size, library scores, weights)
    for top, sample, total in queries:
        top = np.sort(np.asarray(top, np.float64).ravel())[::-1]
        top = top[np.isfinite(top)]
        group = distinct_top_group(top) if len(top) >= 3 else 0
        if len(top) < 3:
            decided.append(Cutoff(float(top[-1]) if len(top) else 0.0, float(len(top)), "none"))
            continue
        sample = np.asarray(sample if sample is not None else [], np.float64)
        sample, total = sample[np.isfinite(sample)], max(int(total or 0), len(top))
        within = bool(group) and library_standing(top, group, sample, total) < LIBRARY_TOP
        if group and not _may_be_only_top(top, group, within):
            decided.append(_group_cut(top, group))  # no fit could overrule it: none is needed
        else:
            scores, weights = library_scores(top, sample, total)
            fitting.append((len(decided), top, group, within, sample, total, scores, weights))
            decided.append(None)
    fits = SHARED_FITS([(scores, weights) for *_, scores, weights in fitting]) if fitting else []
    for (position, top, group, within, sample, total, scores, weights), fit in zip(fitting, fits):
        by_fit = _decide_by_fit(top, sample, scores, weights, fit)
        if group:
            decided[position] = by_fit if _only_top_of(top, group, by_fit, within) else _group_cut(top, group)
        else:
            above = _above_look_alikes(top, scores, weights, by_fit) or _nested_group(top, sample, total, by_fit)
            decided[position] = _group_cut(top, above) if above else by_fit
    return decided  # type: ignore[return-value]


def _group_cut(top: np.ndarray, group: int, method: str = "gap") -> Cutoff:
    """The cut between the ``group`` best of ``top`` (sorted, best first) and the rest."""
    return Cutoff(float((top[group - 1] + top[group]) / 2), float(group), method)


def _standing(top: np.ndarray, group: int) -> np.ndarray:
    """How many standard deviations the mean of the ``group`` best of ``top`` (sorted, best first)
    stands above the rest of a cut keeping ``group + 1``, ``group + 2``... of them."""
    rest = top[group:]
    count = np.arange(1, len(rest) + 1)
    mean = np.cumsum(rest) / count
    spread = np.sqrt(np.maximum(np.cumsum(rest * rest) / count - mean * mean, 1e-24))
    return (np.mean(top[:group]) - mean) / spread


def _may_be_only_top(top: np.ndarray, group: int, within: bool) -> bool:
    """Whether some cut keeping ``GROUP_INSIDE`` times the group or more leaves it standing less
    than ``NATURAL_TOP`` standard deviations above the rest, or the group stands ``within`` the
    library's spread (less than ``LIBRARY_TOP`` above the rest of it): only then can a fit
    overrule it."""
    return within or bool(np.any(_standing(top, group)[(GROUP_INSIDE - 1) * group - 1:] < NATURAL_TOP))


def _only_top_of(top: np.ndarray, group: int, by_fit: Cutoff, within: bool) -> bool:
    """Whether the distinct top group is only the best of the matches that the fit (``by_fit``,
    steps 2 and 3) finds: it keeps ``GROUP_INSIDE`` times as many or more, and the group stands
    less than ``NATURAL_TOP`` standard deviations above the rest of them, or ``within`` the
    library's spread."""
    kept = int(np.sum(top >= by_fit.threshold))
    return (by_fit.method == "mixture" and kept >= GROUP_INSIDE * group
            and (within or bool(_standing(top, group)[kept - group - 1] < NATURAL_TOP)))


def library_standing(top: np.ndarray, group: int, sample: np.ndarray, total: int) -> float:
    """How many standard deviations the mean of the ``group`` best of ``top`` (sorted, best first)
    stands above the rest of the library: the rest of ``top`` exactly, and the ``sample``'s scores
    below it standing for the other ``total - len(top)`` photos."""
    below = sample[sample < top[-1]]
    each = (total - len(top)) / len(below) if len(below) and total > len(top) else 0.0
    mean, spread = _mean_spread(np.concatenate([top[group:], below]),
                                np.concatenate([np.ones(len(top) - group), np.full(len(below), each)]))
    return float((np.mean(top[:group]) - mean) / spread) if spread > 0 else math.inf


def _above_look_alikes(top: np.ndarray, scores: np.ndarray, weights: np.ndarray, by_fit: Cutoff) -> int:
    """The size of a top group set apart by a weaker gap that stands far above the fit's other
    matches, when those look like look-alikes rather than one population of answers; else 0."""
    if by_fit.method != "mixture":
        return 0
    group = widest_gap(top, MIN_GROUP)
    kept = int(np.sum(top >= by_fit.threshold))
    if not group or kept < LOOK_ALIKES * group or gap_ratios(top)[group - 1] < WEAK_GAP:
        return 0
    if _standing(top, group)[kept - group - 1] < HIGH_STANDING:
        return 0
    rest = (scores >= by_fit.threshold) & (scores < top[group - 1])
    below = scores < by_fit.threshold
    spread = _mean_spread(scores[rest], weights[rest])[1]
    return group if spread >= LOOK_ALIKE_SPREAD * _mean_spread(scores[below], weights[below])[1] else 0


def _nested_group(top: np.ndarray, sample: np.ndarray, total: int, by_fit: Cutoff) -> int:
    """The size of a group among the ``FEW`` best inside step 3's cut (``by_fit``, "skewed"), set
    apart by the widest gap there, that stands far above the rest of that cut, even without its
    best photo (a lone outlier's pull is no group), and above the rest of the library; else 0."""
    ratios = gap_ratios(top)[:FEW]
    if by_fit.method != "skewed" or len(ratios) < MIN_GROUP:
        return 0
    ratios[: MIN_GROUP - 1] = 0.0
    group, kept = int(np.argmax(ratios)) + 1, int(np.sum(top >= by_fit.threshold))
    if ratios[group - 1] < NESTED_GAP or kept < GROUP_INSIDE * group:
        return 0
    if _standing(top[1:], group - 1)[kept - group - 1] < NATURAL_TOP:
        return 0
    return group if library_standing(top, group, sample, total) >= NATURAL_TOP else 0


def _mean_spread(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """The weighted mean and standard deviation of ``x`` (0, 0 for nothing)."""
    if w.sum() <= 0:
        return 0.0, 0.0
    mean = float(np.sum(w * x) / w.sum())
    return mean, float(np.sqrt(np.sum(w * (x - mean) ** 2) / w.sum()))


def _decide_by_fit(top, sample, scores, weights, fits: list[PartFit]) -> Cutoff:
    """Steps 2 and 3 for one query."""
    if not fits:
        return Cutoff(float(top[-1]), float(len(top)), "none")
    draws = len(top) + int(np.sum(sample < top[-1]))  # the scores actually seen, for the AIC
    one_bump = skewed_bump_loglik(scores, weights)
    best = max(fits, key=lambda fit: fit.loglik)
    if not _beats_one_bump(best, one_bump, draws):
        group = widest_gap(top, MIN_GROUP)
        if group:
            return _group_cut(top, group, "skewed")
    threshold, matches = best_expected_f1(scores, weights, choose_fit(fits, draws, one_bump).upper)
    return Cutoff(threshold, matches, "mixture")


def choose_fit(fits: Sequence[PartFit], draws: int, one_bump: float | None = None) -> PartFit:
    """The fit to decide by, from EM's fits from its starting splits (at least one).

    The most likely one, unless another describes the scores as well (within ``EQUALLY_LIKELY``
    over the ``draws`` scores seen) with an upper part at least twice as large (a different split,
    not the same one reached less exactly), and is itself two populations: it beats one skewed
    bump (``one_bump``, its log-likelihood per unit of weight, None when the scores lean the other
    way) by Akaike's criterion. Then the largest such.
    """
    best = max(fits, key=lambda fit: fit.loglik)

    def also(fit: PartFit) -> bool:
        return ((best.loglik - fit.loglik) * max(draws, 1) <= EQUALLY_LIKELY and fit.share >= 2 * best.share
                and fit.share >= BROAD and _beats_one_bump(fit, one_bump, draws))

    return max(filter(also, fits), key=lambda fit: fit.share, default=best)


def _beats_one_bump(fit: PartFit, one_bump: float | None, draws: int) -> bool:
    """Whether two parts describe the ``draws`` scores seen better than one skewed bump does
    (``skewed_bump_loglik``) by Akaike's criterion: two log-likelihood units per extra parameter
    (True when the scores lean the other way and there is no such bump)."""
    return one_bump is None or (fit.loglik - one_bump) * max(draws, 1) > 2.0


def gap_ratios(top: np.ndarray, window: int = 5) -> np.ndarray:
    """Per position j (a cut after the j best), the gap there over the local mean spacing.

    The local spacing is the larger of the mean spacing inside the j best and the mean spacing of
    the next max(j, window) scores. Entry 0 is for j = 1. ``top`` is sorted, best first.
    """
    n = len(top)
    j = np.arange(1, n - window)
    if len(j) == 0:
        return np.zeros(0)
    gaps = top[j - 1] - top[j]
    within = (top[0] - top[j - 1]) / np.maximum(j - 1, 1)
    span = np.minimum(np.maximum(j, window), n - 1 - j)
    below = (top[j] - top[j + span]) / span
    return gaps / np.maximum(np.maximum(within, below), 1e-12)


def widest_gap(top: np.ndarray, min_group: int) -> int:
    """The size of the group of best scores that the widest gap (relative to the spacing around
    it, ``gap_ratios``) sets apart, at least ``min_group``; 0 when ``top`` is too short."""
    ratios = gap_ratios(top)
    if len(ratios) < min_group:
        return 0
    ratios[: min_group - 1] = 0.0
    return int(np.argmax(ratios)) + 1


def narrow_cutoff(top: np.ndarray, min_group: int) -> Cutoff:
    """The cut of a query known to ask for something specific (a picture plus words,
    ``cutoff_terms``): at the widest gap among its best scores, as step 3 cuts, for a group of at
    least ``min_group`` (everything when there are too few scores to tell)."""
    top = np.sort(np.asarray(top, np.float64).ravel())[::-1][:TOP_CANDIDATES]
    top = top[np.isfinite(top)]
    group = widest_gap(top, min_group)
    if not group:
        return Cutoff(float(top[-1]) if len(top) else 0.0, float(len(top)), "none")
    return _group_cut(top, group, "narrow")


def distinct_top_group(top: np.ndarray) -> int:
    """The size of a group of best scores set apart by a large gap, or 0 when there is none."""
    ratios = gap_ratios(top)
    if len(ratios) < MIN_GROUP:
        return 0
    ratios[: MIN_GROUP - 1] = 0.0
    best = int(np.argmax(ratios))
    return best + 1 if ratios[best] >= GAP_RATIO else 0


def library_scores(top: np.ndarray, sample: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
    """The query's score distribution over the whole library, as (scores, weights).

    The exact top scores count once each; the sample's scores below the lowest of them stand,
    with equal weights, for the rest of the library. The sample's part is binned (``_BINS``), which
    keeps the mixture fit cheap at any sample size.
    """
    sample = sample[np.isfinite(sample)]
    below = sample[sample < top[-1]]
    rest = total - len(top)
    if rest <= 0 or len(below) == 0:
        return top, np.ones(len(top))
    counts, edges = np.histogram(below, bins=min(_BINS, len(below)))
    keep = counts > 0
    centres = ((edges[:-1] + edges[1:]) / 2)[keep]
    weights = counts[keep] * (rest / len(below))
    return np.concatenate([top, centres[::-1]]), np.concatenate([np.ones(len(top)), weights[::-1]])


# Every query's fits in this process, one EM at a time: those that arrive meanwhile share the next.
SHARED_FITS = Coalescer(mixture_fits)


def use_compiled_fits() -> bool:
    """From now on, fit this process's cut-offs with the compiled EM (``compiled_mixture_fits``).

    For a server, which fits on every query from many threads at once. It compiles the EM now
    (or loads it from numba's cache), not on the first query. Returns False, and NumPy goes on
    fitting, when numba is not installed or cannot compile here.

    numba, loading its array functions (``numba.np.arraymath``) on its first compile or cache load,
    imports SciPy's BLAS and LAPACK where SciPy is installed, for ``np.dot`` and ``np.linalg`` in
    compiled code; the EM calls neither, and nothing else in a server loads them: 15 MB kept out
    (``memory.keeping_out``). numba then goes without those functions in this process.
    """
    global SHARED_FITS
    try:
        with keeping_out(["scipy.linalg"]):
            compiled_mixture_fits([(np.linspace(1.0, 0.0, 16), np.ones(16))])
    except Exception as exc:  # ImportError without numba; numba's own errors on an odd platform
        log.warning("the cut-off fits with NumPy: its compiled EM is not available here (%s)", exc)
        return False
    SHARED_FITS = Coalescer(compiled_mixture_fits)
    return True


def best_expected_f1(x: np.ndarray, w: np.ndarray, upper: np.ndarray) -> tuple[float, float]:
    """The threshold with the best F1 expected when each score matches with probability ``upper``.

    Returns (threshold, expected number of matches). ``x`` is sorted, best first.
    """
    hits = np.cumsum(w * upper)
    returned = np.cumsum(w)
    matches = float(hits[-1])
    f1 = 2 * hits / (returned + matches)
    best = int(np.argmax(f1))
    return float(x[best]), matches
