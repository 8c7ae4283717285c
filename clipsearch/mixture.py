"""The cut-off's fits of a query's score distribution: two Gaussians fitted by EM, and one skewed bump.

``mixture_fits`` fits several distributions at once in NumPy; ``compiled_mixture_fits`` runs the
same EM compiled (``clipsearch.mixture_jit``). Both return, per distribution, the fits EM reached
from its starting splits; ``clipsearch.cutoff`` chooses one and decides by it, unless one skewed
bump (``skewed_bump_loglik``) describes the scores as well.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

# A query's matches are a minority of the library (a broad query's are about a fifth): an upper
# part holding more than a third is the bulk of non-matches split in two, not the matches.
MAX_SHARE = 0.35
_EM_STEPS = 40
_STARTS = np.array([0.01, 0.05, 0.2, 0.4])
_ERFC = np.frompyfunc(math.erfc, 1, 1)


class PartFit(NamedTuple):
    """One two-Gaussian fit of a query's scores: per score the upper part's probability, the
    weighted log-likelihood per unit of weight, and the upper part's share of the weight."""

    upper: np.ndarray
    loglik: float
    share: float


def mixture_fits(cases: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[list[PartFit]]:
    """Two-Gaussian mixtures fitted by EM to several score distributions (x, w) at once: for each,
    the fits EM reached from its starting splits (the upper 1%, 5%, 20% and 40% of the weight)
    whose upper part is the higher one and holds a share in (0, ``MAX_SHARE``], most likely
    first; none when no start separates two such parts (``cutoff.choose_fit`` picks one to decide by).

    Each step is a handful of array operations over every distribution and starting split at once
    (the M-step one batched matrix product with the scores' weighted moments): a search runs this
    on every query, and under concurrent load its Python overhead holds the interpreter lock.
    Distributions are padded to one length with weightless scores; each keeps the values of the
    step at which it converged, as if fitted alone.
    """
    if not cases:
        return []
    n, starts = max(len(x) for x, _ in cases), len(_STARTS)
    x = np.stack([np.pad(c[0], (0, n - len(c[0])), mode="edge") for c in cases])
    w = np.stack([np.pad(c[1], (0, n - len(c[1]))) for c in cases])
    # Whatever depends on a whole distribution is computed on it alone, not on its padded row: a
    # sum's last bit can move a starting split by one score.
    splits = np.stack([_starting_splits(xi, wi) for xi, wi in cases])
    upper = (x[:, None, :] >= splits[:, :, None]).astype(np.float64)  # (distributions, starts, n)
    centred = x - np.array([np.sum(wi * xi) / wi.sum() for xi, wi in cases])[:, None]  # about the mean
    moments = np.stack([w, w * centred, w * centred * centred], axis=2)
    totals = np.stack([m[: len(c[0])].sum(0) for m, c in zip(moments, cases)])
    floor = np.array([1e-10 + 1e-6 * float(np.var(c[0])) for c in cases])[:, None, None]
    previous = np.full((len(cases), starts), -np.inf)
    final: list[tuple | None] = [None] * len(cases)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(_EM_STEPS):
            share, means, variances = _m_step(upper, moments, totals, floor)
            upper, ll = _e_step(centred, w, share, means, variances)
            for i in np.flatnonzero(np.all(ll - previous <= 1e-5 * np.abs(ll), axis=1)):
                if final[i] is None:
                    final[i] = (share[i], means[i], upper[i], ll[i])
            if all(f is not None for f in final):
                break
            previous = ll
    out: list[list[PartFit]] = []
    for i, (x_i, w_i) in enumerate(cases):
        share_i, means_i, upper_i, ll_i = final[i] or (share[i], means[i], upper[i], ll[i])
        mean_up, mean_low = means_i[:starts, 0], means_i[starts:, 0]
        ok = np.isfinite(ll_i) & (mean_up > mean_low) & (share_i <= MAX_SHARE) & (share_i > 0)
        fits = [PartFit(upper_i[k][: len(x_i)], float(ll_i[k] / w_i.sum()), float(share_i[k]))
                for k in np.flatnonzero(ok)]
        out.append(sorted(fits, key=lambda fit: -fit.loglik))
    return out


def _starting_splits(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The scores above which the upper part starts: the upper 1%, 5%, 20% and 40% of the weight."""
    return x[np.minimum(np.searchsorted(np.cumsum(w) / w.sum(), _STARTS), len(x) - 1)]


def compiled_mixture_fits(cases: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[list[PartFit]]:
    """``mixture_fits`` by the compiled EM of ``clipsearch.mixture_jit`` (numba must be installed):
    the same fits, a quarter of the CPU, and no interpreter lock held while fitting."""
    from .mixture_jit import fit_two_gaussians

    out: list[list[PartFit]] = []
    for x, w in cases:
        x, w = np.ascontiguousarray(x, np.float64), np.ascontiguousarray(w, np.float64)
        upper, loglik, share, ok = fit_two_gaussians(x, w, _starting_splits(x, w), MAX_SHARE, _EM_STEPS)
        fits = [PartFit(upper[k], float(loglik[k]), float(share[k])) for k in np.flatnonzero(ok)]
        out.append(sorted(fits, key=lambda fit: -fit.loglik))
    return out


def _m_step(upper: np.ndarray, moments: np.ndarray, totals: np.ndarray, floor: np.ndarray):
    """The upper part's weight share, and both parts' means and variances stacked (upper parts'
    rows first, then the lower parts'), per distribution and start; from the weighted moments."""
    up = upper @ moments  # per start: mass, first and second moment of the upper part
    both = np.concatenate([up, totals[:, None, :] - up], axis=1)
    mass = both[..., :1]
    means = both[..., 1:2] / mass
    variances = np.maximum(both[..., 2:3] / mass - means * means, floor)
    return up[..., 0] / totals[:, None, 0], means, variances


def _e_step(x, w, share, means, variances):
    """Upper-part probabilities and the weighted log-likelihood, per distribution and start."""
    starts = share.shape[1]
    log_share = np.log(np.concatenate([share, 1.0 - share], axis=1))[..., None]
    log_density = x[:, None, :] - means
    log_density *= log_density
    log_density /= -2.0 * variances
    log_density += log_share - 0.5 * np.log(2 * np.pi * variances)
    log_sum = np.logaddexp(log_density[:, :starts], log_density[:, starts:])
    upper = np.exp(log_density[:, :starts] - log_sum)
    np.copyto(upper, 0.0, where=np.isnan(upper))
    return upper, (log_sum @ w[:, :, None])[..., 0]


def skewed_bump_loglik(x: np.ndarray, w: np.ndarray) -> float | None:
    """The weighted mean log-likelihood of one right-skewed bump (a skew-normal fitted by its
    moments, two parameters fewer than two Gaussians) for the scores; None when they do not lean
    towards the high scores.

    A query with only a handful of matches and no clean gap leaves the library's scores as one
    bump with a long upper tail; a two-Gaussian mixture then splits that tail off as an "upper
    part" holding a quarter of the library. When the mixture does not beat this bump by Akaike's
    criterion (two log-likelihood units per extra parameter, over the scores actually seen), the
    upper part is the bulk's own tail, not a population of matches.
    """
    w = w / w.sum()
    mean = float(np.sum(w * x))
    var = float(np.sum(w * (x - mean) ** 2))
    if var <= 0:
        return None
    skew = float(np.sum(w * (x - mean) ** 3)) / var**1.5
    if skew <= 0:
        return None
    return skew_normal_loglik(x, w, mean, var, skew)


def skew_normal_loglik(x: np.ndarray, w: np.ndarray, mean: float, var: float, skew: float) -> float:
    """The weighted mean log-density of a skew-normal with this mean, variance and skewness
    (the skewness clipped to what a skew-normal can reach)."""
    a = min(abs(skew), 0.99) ** (2 / 3)
    delta = np.copysign(np.sqrt(np.pi / 2 * a / (a + ((4 - np.pi) / 2) ** (2 / 3))), skew)
    alpha = delta / np.sqrt(1 - delta**2)
    omega = np.sqrt(var / (1 - 2 * delta**2 / np.pi))
    xi = mean - omega * delta * np.sqrt(2 / np.pi)
    t = (x - xi) / omega
    tail = 0.5 * _ERFC(-alpha * t / np.sqrt(2)).astype(np.float64)  # the normal CDF at alpha * t
    with np.errstate(divide="ignore"):
        logpdf = np.log(2 / omega) - 0.5 * np.log(2 * np.pi) - t**2 / 2 + np.log(np.maximum(tail, 1e-300))
    return float(np.sum(w * logpdf))
