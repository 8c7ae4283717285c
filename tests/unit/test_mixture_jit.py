"""The compiled EM (``clipsearch.mixture_jit``) fits what NumPy's EM fits, and a process without
numba keeps fitting with NumPy."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from clipsearch import cutoff
from clipsearch.cutoff import compiled_mixture_fits, library_scores, mixture_fits

REPO = Path(__file__).resolve().parents[2]


def _two_parts(rng, size: int, most: int) -> np.ndarray:
    """A library's scores: a bulk, and fewer than ``most`` matches at any distance and spread."""
    matches = int(rng.integers(0, most))
    return np.concatenate([rng.normal(0.2, 0.03, size - matches),
                           rng.normal(0.2 + rng.uniform(0.01, 0.1), rng.uniform(0.005, 0.04), matches)])


def _distributions(seed: int, count: int):
    """Score distributions of every shape the cut-off meets, as (scores best first, weights): two
    parts at any share, scale and overlap; one skewed bump; flat; ties; a handful of scores."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        kind = i % 5
        size = int(rng.integers(3, 12)) if kind == 4 else int(rng.integers(2_000, 20_000))
        if kind == 0:
            scores = _two_parts(rng, size, most=size // 3)
        elif kind == 1:
            scores = 0.1 + rng.gamma(rng.uniform(1.5, 6), 0.01, size)
        elif kind == 2:
            scores = rng.uniform(-0.2, 0.4, size)
        else:
            scores = np.round(rng.normal(0.3, 0.05, size), 2)  # ties (and, at kind 4, a few scores)
        scores = np.sort(scores * rng.uniform(0.5, 3) + rng.uniform(-0.5, 0.5))[::-1]
        top, sample = scores[:100], rng.choice(scores, min(2048, size), replace=False)
        cases.append(library_scores(top, sample, size))
    return cases


def test_compiled_fits_are_numpys_fits():
    cases = _distributions(seed=5, count=250)
    cases.append((np.full(50, 0.3), np.ones(50)))  # one value: no two parts
    cases.append((np.array([0.9, 0.1]), np.array([1.0, 0.0])))  # a weightless score
    reference, compiled = mixture_fits(cases), compiled_mixture_fits(cases)
    assert sum(not fits for fits in reference) >= 2
    assert sum(bool(fits) for fits in reference) >= 150
    assert sum(len(fits) >= 2 for fits in reference) >= 50  # several starts' fits to choose from
    for (x, _), want, got in zip(cases, reference, compiled):
        assert len(got) == len(want)
        for want_fit, got_fit in zip(want, got):  # every acceptable start's fit, most likely first
            assert got_fit.upper.shape == x.shape
            np.testing.assert_allclose(got_fit.upper, want_fit.upper, rtol=0, atol=1e-7)
            assert got_fit.loglik == pytest.approx(want_fit.loglik, rel=1e-9, abs=1e-12)
            assert got_fit.share == pytest.approx(want_fit.share, rel=1e-7, abs=1e-12)


def test_decisions_with_compiled_fits_are_numpys(monkeypatch):
    rng = np.random.default_rng(3)
    queries = []
    for _ in range(120):
        scores = _two_parts(rng, 10_000, most=3_000)
        queries.append((np.sort(scores)[::-1][:100], rng.choice(scores, 2048, replace=False), len(scores)))
    monkeypatch.setattr(cutoff, "SHARED_FITS", cutoff.SHARED_FITS)
    with_numpy = cutoff.relevance_cutoffs(queries)
    assert cutoff.use_compiled_fits()
    assert cutoff.SHARED_FITS.fn is compiled_mixture_fits
    compiled = cutoff.relevance_cutoffs(queries)
    # The same cut and method; the estimated count of matches to the last few bits.
    assert [(cut.threshold, cut.method) for cut in compiled] == [(cut.threshold, cut.method) for cut in with_numpy]
    assert [cut.matches for cut in compiled] == pytest.approx([cut.matches for cut in with_numpy], rel=1e-9)
    assert sum(cut.method == "mixture" for cut in with_numpy) >= 40


def test_without_numba_numpy_goes_on_fitting(monkeypatch, caplog):
    monkeypatch.setattr(cutoff, "SHARED_FITS", cutoff.SHARED_FITS)
    numpy_fits = cutoff.SHARED_FITS
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` now raises ImportError
    monkeypatch.delitem(sys.modules, "clipsearch.mixture_jit", raising=False)
    with caplog.at_level(logging.WARNING, logger="clipsearch.cutoff"):
        assert not cutoff.use_compiled_fits()
    assert cutoff.SHARED_FITS is numpy_fits
    assert "fits with NumPy" in caplog.text and "numba" in caplog.text
    top = np.linspace(0.4, 0.3, 100)
    assert cutoff.relevance_cutoff(top, np.linspace(0.3, 0.0, 2048), 10_000).method in {"mixture", "skewed", "none"}


def test_the_compiled_em_loads_without_scipys_linear_algebra():
    """Where SciPy is installed, numba would import its BLAS and LAPACK (15 MB) for the server's EM."""
    probe = ("import importlib.util, sys\n"
             "from clipsearch import cutoff\n"
             "print('COMPILED', cutoff.use_compiled_fits())\n"
             "print('LINALG', 'scipy.linalg' in sys.modules)\n"
             "if importlib.util.find_spec('scipy'):\n"
             "    import scipy.linalg.cython_blas\n"
             "print('IMPORTABLE')\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.stdout.split() == ["COMPILED", "True", "LINALG", "False", "IMPORTABLE"], result.stdout + result.stderr
