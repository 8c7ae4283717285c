"""What the web server leaves behind: the Duplicates panel's downloads (``duplicates_view.Exports``)."""

from __future__ import annotations

import gc
import os

from webui.duplicates_view import Exports, write_exports

GROUPS = [{"kind": "duplicates", "paths": ["/photos/a.jpg", "/photos/b.jpg"],
           "photos": [{"path": "/photos/a.jpg", "width": 4, "height": 3, "size": 10, "date_taken": None,
                       "modified": "2024-01-01T00:00:00", "similarity": 1.0}]}]


def test_the_downloads_keep_the_last_two_lists_in_one_folder_deleted_at_close():
    exports = Exports()
    written = [write_exports(GROUPS, exports.fresh()) for _ in range(4)]
    folder = exports.folder
    assert folder is not None and folder.name.startswith("clipsearch-duplicates-")
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == ["3", "4"]  # each list had a temporary folder of its own, never deleted
    assert all(os.path.exists(p) for pair in written[2:] for p in pair)
    assert not any(os.path.exists(p) for pair in written[:2] for p in pair)
    exports.close()
    assert not folder.exists()
    exports.close()  # twice is harmless


def test_the_downloads_folder_goes_with_the_view():
    exports = Exports()
    write_exports(GROUPS, exports.fresh())
    folder = exports.folder
    del exports
    gc.collect()
    assert not folder.exists()


def test_no_list_no_folder():
    exports = Exports()
    assert exports.folder is None
    exports.close()
