"""The cut-off's two-Gaussian EM, compiled (numba): what a server fits on every query.

``mixture.mixture_fits`` runs the EM as a few hundred NumPy calls on arrays of a thousand or so
values. Alone that is 1.2 ms of CPU per fit; under eight concurrent requests it cost about 6 ms
per query, because every NumPy call lets go of the interpreter lock and must take it back (see
``clipsearch.coalesce``). The same EM compiled is 0.3 ms per fit and holds no interpreter lock at
all (``nogil``), so the other requests' threads run beside it.

This module holds only the loop, for one score distribution; ``mixture.compiled_mixture_fits``
computes the starting splits and calls it, and ``cutoff.use_compiled_fits`` switches a process
over (the web app does at start; a one-shot command keeps NumPy, as loading a compiled function
costs more than the one fit it would save). The arithmetic is the NumPy EM's, step for step and
with the same stopping rule; only the order of floating-point additions differs, so decisions
agree (tests/unit/test_mixture_jit.py compares both on 250 synthetic distributions; 360 cases
recorded from the engine's queries agreed too when this was written).

Importing this module imports numba; numba compiles the loop on its first call (about a second),
and caches the machine code beside this file or in the user's cache folder (about 0.3 s to load).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_LOG_2 = math.log(2.0)


_jit = njit(nogil=True, cache=True, error_model="numpy")


@_jit
def fit_two_gaussians(x, w, splits, max_share, steps):
    """EM of a two-Gaussian mixture on scores ``x`` with weights ``w``, from each starting split
    (the upper part: scores at or above it), all steps together until every start has converged
    (the log-likelihood moved by at most 1e-5 of itself) or ``steps`` ran out.

    Returns, per start: each score's probability of the upper part (starts x scores), the weighted
    log-likelihood per unit of weight, the upper part's share, and whether the fit is acceptable
    (its upper part is the higher one and holds a share in (0, ``max_share``]).
    """
    starts = splits.shape[0]
    total, centred, first, second, floor = _centred_moments(x, w)
    upper = np.empty((starts, x.shape[0]))
    for k in range(starts):
        for i in range(x.shape[0]):
            upper[k, i] = 1.0 if x[i] >= splits[k] else 0.0
    previous = np.full(starts, -np.inf)
    loglik = np.empty(starts)
    parts = np.empty((starts, 5))  # per start: share, upper mean, lower mean, upper and lower variance
    for _ in range(steps):
        for k in range(starts):
            _m_step(upper[k], w, centred, total, first, second, floor, parts[k])
            loglik[k] = _e_step(upper[k], w, centred, parts[k])
        if np.all(loglik - previous <= 1e-5 * np.abs(loglik)):
            break
        previous[:] = loglik
    ok = np.empty(starts, np.bool_)
    for k in range(starts):
        ok[k] = _acceptable(loglik[k], parts[k], max_share)
    return upper, loglik / total, parts[:, 0].copy(), ok


@_jit
def _centred_moments(x, w):
    """Total weight; the scores about their weighted mean; their weighted first and second
    moments; and the variance floor (a part never collapses onto one score)."""
    n = x.shape[0]
    total = np.sum(w)
    centred = x - np.sum(w * x) / total
    plain = x - np.mean(x)
    floor = 1e-10 + 1e-6 * np.sum(plain * plain) / n
    return total, centred, np.sum(w * centred), np.sum(w * centred * centred), floor


@_jit
def _m_step(upper, w, centred, total, first, second, floor, parts):
    """The upper part's share, both parts' means and variances, from its soft membership: into
    ``parts``."""
    mass = 0.0
    moment1 = 0.0
    moment2 = 0.0
    for i in range(centred.shape[0]):
        u = upper[i] * w[i]
        mass += u
        moment1 += u * centred[i]
        moment2 += u * centred[i] * centred[i]
    m_up = moment1 / mass
    m_low = (first - moment1) / (total - mass)
    v_up = max(moment2 / mass - m_up * m_up, floor)
    v_low = max((second - moment2) / (total - mass) - m_low * m_low, floor)
    parts[0], parts[1], parts[2], parts[3], parts[4] = mass / total, m_up, m_low, v_up, v_low


@_jit
def _e_step(upper, w, centred, parts):
    """Each score's probability of the upper part, into ``upper``; returns the weighted
    log-likelihood."""
    share, m_up, m_low, v_up, v_low = parts[0], parts[1], parts[2], parts[3], parts[4]
    c_up = math.log(share) - 0.5 * math.log(v_up) - _HALF_LOG_2PI
    c_low = math.log(1.0 - share) - 0.5 * math.log(v_low) - _HALF_LOG_2PI
    loglik = 0.0
    for i in range(centred.shape[0]):
        d_up = centred[i] - m_up
        d_low = centred[i] - m_low
        log_sum, p = _log_sum_and_upper(c_up - d_up * d_up / (2.0 * v_up), c_low - d_low * d_low / (2.0 * v_low))
        upper[i] = p
        loglik += log_sum * w[i]
    return loglik


@_jit
def _log_sum_and_upper(log_up, log_low):
    """log(e^up + e^low) as NumPy's logaddexp gives it, and the upper part's share of the sum
    (0 where that is not a number)."""
    diff = log_up - log_low
    if diff >= 0:
        t = math.exp(-diff)
        return log_up + math.log1p(t), 1.0 / (1.0 + t)
    if diff < 0:
        t = math.exp(diff)
        return log_low + math.log1p(t), t / (1.0 + t)
    if log_up == log_low:  # both infinite alike: the sum is that infinity
        log_sum = log_up + _LOG_2
        p = math.exp(log_up - log_sum)
        return log_sum, 0.0 if p != p else p
    return diff, 0.0  # a NaN stays in the likelihood, as in NumPy


@_jit
def _acceptable(loglik, parts, max_share):
    """Whether a start's fit has a finite likelihood, and an upper part that is the higher one
    and holds a share in (0, max_share]."""
    share = parts[0]
    return math.isfinite(loglik) and parts[1] > parts[2] and 0 < share <= max_share
