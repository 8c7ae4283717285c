"""Which file events start a ``--watch`` pass: photos and videos changed, not files only read, not
hidden or foreign files, not the program's own."""

from __future__ import annotations

import threading

from watchdog.events import (
    DirModifiedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

from indexer.watch import _handler

ROOT = "/photos"


def _starts_a_pass(event) -> bool:
    changed = threading.Event()
    _handler(changed, [ROOT], ("/photos/.cache/",)).dispatch(event)
    return changed.is_set()


def test_photos_and_videos_changed_start_a_pass():
    assert _starts_a_pass(FileCreatedEvent(f"{ROOT}/2024/beach.jpg"))
    assert _starts_a_pass(FileModifiedEvent(f"{ROOT}/2024/BEACH.HEIC"))
    assert _starts_a_pass(FileCreatedEvent(f"{ROOT}/2024/party.mp4"))
    assert _starts_a_pass(FileDeletedEvent(f"{ROOT}/2024/clip.MOV"))
    assert _starts_a_pass(FileMovedEvent(f"{ROOT}/.party.mp4.tmp", f"{ROOT}/party.mp4"))  # rsync's rename


def test_other_files_and_reads_start_none():
    assert not _starts_a_pass(FileCreatedEvent(f"{ROOT}/notes.txt"))
    assert not _starts_a_pass(FileOpenedEvent(f"{ROOT}/party.mp4"))
    assert not _starts_a_pass(FileClosedNoWriteEvent(f"{ROOT}/beach.jpg"))
    assert not _starts_a_pass(DirModifiedEvent(f"{ROOT}/2024"))
    assert not _starts_a_pass(FileCreatedEvent(f"{ROOT}/.hidden/party.mp4"))
    assert not _starts_a_pass(FileCreatedEvent(f"{ROOT}/@eaDir/party.mp4"))
    assert not _starts_a_pass(FileCreatedEvent(f"{ROOT}/.cache/thumb.jpg"))


def test_thumbnails_in_a_tagged_cache_start_none_though_the_watcher_was_not_told_of_it(tmp_path):
    """A watcher started without the web app's $CLIPSEARCH_CACHE, the cache inside its photos: each
    thumbnail the web app wrote began a pass, which found nothing (the scan leaves the tagged folder
    out). The tag keeps the watcher away too; an untagged folder of the same name does not."""
    from clipsearch.cache_tag import tag_as_cache

    photos = tmp_path / "photos"
    tag_as_cache(photos / "thumbcache" / "thumbs")
    (photos / "2024").mkdir(parents=True)

    def starts(path) -> bool:
        changed = threading.Event()
        _handler(changed, [str(photos)], ()).dispatch(FileCreatedEvent(str(path)))
        return changed.is_set()

    assert not starts(photos / "thumbcache" / "thumbs" / "256" / "ab12.jpg")
    assert starts(photos / "thumbcache" / "other" / "ab12.jpg")
    assert starts(photos / "2024" / "beach.jpg")
