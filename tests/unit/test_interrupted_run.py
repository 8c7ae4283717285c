"""A run stopped part-way (Ctrl-C, a watcher's stop) keeps what it has not yet looked at."""

from __future__ import annotations

import pytest

from testsupport.imagefactory import photo, save


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "photos"
    for i in range(12):
        save(photo(160, 120, seed=i), root / "a" / f"p{i:02d}.jpg", quality=90)
    return root


def test_a_run_stopped_part_way_through_a_move_forgets_no_photo_and_the_next_run_embeds_none(engine, library):
    """A folder renamed, then a run stopped after its first batch: the photos it did not reach
    yet keep their records (their vectors), so the run after it sees them moved, not new."""
    engine.index_folder(library)
    before = engine.encoder.images_embedded
    (library / "a").rename(library / "renamed")
    stopped = engine.index_folder(library, should_stop=lambda: True, batch_size=1)
    assert stopped.interrupted and 0 < stopped.moved < 12 and stopped.removed == 0
    assert engine.store.count() == 12  # the photos not reached yet are still in the index
    resumed = engine.index_folder(library)
    assert (resumed.moved, resumed.added, resumed.removed) == (12 - stopped.moved, 0, 0)
    assert engine.encoder.images_embedded == before  # no photo embedded again
    assert sorted(r.path for r in engine.store.records()) == sorted(
        str(library / "renamed" / f"p{i:02d}.jpg") for i in range(12))
