"""The thumbnail cache forgets photos that left the index."""

from __future__ import annotations

import os

from clipsearch.stores import ImageRecord
from testsupport.imagefactory import photo, save
from webui.thumbnails import ThumbnailCache


def test_prune_removes_thumbnails_of_photos_no_longer_indexed(tmp_path):
    cache = ThumbnailCache(tmp_path / "cache")
    kept, gone = save(photo(300, 200, seed=1), tmp_path / "kept.jpg"), save(photo(300, 200, seed=2), tmp_path / "gone.jpg")
    thumbs = {p: cache.get(str(p)) for p in (kept, gone)}
    preview = cache.get(str(kept), 1024)
    st = os.stat(kept)
    records = [ImageRecord(str(kept), st.st_size, st.st_mtime_ns, "fp", 300, 200)]
    assert cache.prune(records) == 1
    assert os.path.exists(thumbs[kept]) and os.path.exists(preview)
    assert not os.path.exists(thumbs[gone])
    cache.close()
