"""Embedding through Ray Data gives the index the local engine gives, and stays incremental."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (pip install -r requirements-scale.txt)")

from clipsearch import ModelSpec, SearchEngine, Settings  # noqa: E402
from clipsearch.distributed import index_folder_ray  # noqa: E402
from clipsearch.images import is_image_name  # noqa: E402

N_PICTURES = 60


@pytest.fixture
def local_ray(monkeypatch):
    """A 2-CPU local Ray with its files under a short /tmp folder (unix sockets: 107 bytes)."""
    monkeypatch.setenv("RAY_raylet_start_wait_time_s", "120")  # the default 30 s ran out on a busy machine
    monkeypatch.setenv("RAY_gcs_server_port_wait_time_s", "120")  # and so did the GCS server's, another day
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    try:
        ray.init(_temp_dir=temp, include_dashboard=False, num_cpus=2, log_to_driver=False)
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture
def library(sample_library, tmp_path) -> Path:
    """The first pictures of the sample library, in their folders."""
    folder = tmp_path / "photos"
    pictures = sorted(p for p in sample_library.rglob("*") if is_image_name(p.name))[:N_PICTURES]
    for picture in pictures:
        target = folder / picture.relative_to(sample_library)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(picture, target)
    return folder


def engine_at(folder: Path) -> SearchEngine:
    settings = Settings(index_dir=folder, cache_dir=folder / "cache", model=ModelSpec(name="demo", precision="fp32"))
    return SearchEngine.for_writing(settings)


@pytest.mark.slow
def test_ray_engine_matches_the_local_engine_and_is_incremental(library, tmp_path, local_ray):
    local = engine_at(tmp_path / "local")
    distributed = engine_at(tmp_path / "ray")
    try:
        want = local.index_folder(library)
        got = index_folder_ray(distributed, library)
        assert (got.added, got.embedded, got.skipped_count) == (N_PICTURES, N_PICTURES, 0)
        assert (got.added, got.embedded) == (want.added, want.embedded)

        records = {r.path: r for r in local.store.records()}
        assert {r.path: r for r in distributed.store.records()} == records
        for path in records:
            cosine = float(np.dot(local.store.vector(path), distributed.store.vector(path)))
            assert cosine > 0.999, path

        again = index_folder_ray(distributed, library)
        assert (again.unchanged, again.embedded, again.added) == (N_PICTURES, 0, 0)

        # A copy of a known picture goes through Ray to be hashed, and reuses the stored vector.
        first = sorted(records)[0]
        shutil.copy2(first, library / "copy-of-first.jpg")
        copied = index_folder_ray(distributed, library)
        assert (copied.added, copied.reused, copied.embedded) == (1, 1, 0)
        np.testing.assert_allclose(distributed.store.vector(str(library / "copy-of-first.jpg")),
                                   distributed.store.vector(first))
    finally:
        local.close()
        distributed.close()
