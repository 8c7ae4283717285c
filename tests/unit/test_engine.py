"""The engine and the indexing pipeline, with a fake encoder and a real store on disk."""

from __future__ import annotations

import os
import shutil
import threading
import time

import numpy as np
import pytest

from clipsearch import IndexLocked, InvalidQuery, QueryTerm, SearchEngine, SearchFilter
from clipsearch.lock import IndexLock
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "photos"
    for i in range(12):
        save(photo(160, 120, seed=i), root / ("a" if i < 6 else "b/c") / f"p{i:02d}.jpg", quality=90)
    save(photo(100, 100, seed=50), root / "b" / "flat.png")
    return root


def test_a_folder_reached_through_a_symlink_is_indexed_once_under_the_name_the_index_knows(engine, library, tmp_path):
    link = tmp_path / "Pictures"  # ~/Pictures, a link to the photos on another disk
    link.symlink_to(library)
    first = engine.index_folder(link)
    assert first.added == 13
    for spelled in (library, library / "b", link / "b" / "c"):  # the disk's own name, a folder inside
        again = engine.index_folder(spelled)
        assert again.added == again.removed == again.moved == 0 and again.unchanged == again.found > 0
    assert engine.store.count() == 13 and all(r.path.startswith(str(link) + os.sep) for r in engine.records())
    assert engine.folders()[0] == str(link) and str(library) not in engine.folders()
    assert len(engine.search_text("a photo", k=30, cutoff=0.0)) == 13  # no photo twice
    under_b = {r.path for r in engine.records(link / "b")}
    assert len(under_b) == 7 and {r.path for r in engine.records(library / "b")} == under_b
    for spelled in (library / "b", link / "b"):  # a folder filter by either name finds the same photos
        where = SearchFilter(folder=str(spelled))
        assert {h.path for h in engine.search_text("a photo", k=30, where=where, cutoff=0.0)} == under_b
        some = sorted(under_b)[0]
        assert {h.path for h in engine.similar(some, k=30, where=where, cutoff=0.0)} == under_b - {some}
    assert engine.remove_folder(library / "a") == 6 and engine.store.count() == 7


def test_an_index_that_holds_a_folder_under_two_names_keeps_one(engine, library, tmp_path, monkeypatch):
    link = tmp_path / "Pictures"
    link.symlink_to(library)
    import clipsearch.pipeline

    monkeypatch.setattr(clipsearch.pipeline, "as_covered", lambda folder, covered, quiet=False: folder)
    engine.index_folder(link)  # as a release before as_covered did: every photo twice
    engine.index_folder(library)
    assert engine.store.count() == 26 and sorted(engine.folders()) == sorted([str(link), str(library)])
    monkeypatch.undo()
    before = engine.encoder.images_embedded
    again = engine.index_folder(engine.folders())  # what a cron run does
    assert again.removed == 13 and again.added == 0 and engine.encoder.images_embedded == before
    assert engine.store.count() == 13 and engine.folders() == [min(str(link), str(library))]


def test_a_folder_gone_or_empty_keeps_its_photos_until_it_is_removed(engine, library, tmp_path):
    engine.index_folder(library)
    before = engine.encoder.images_embedded
    library.rename(tmp_path / "unplugged")  # a cron run while the disk is not mounted
    gone = engine.index_folder(engine.folders())
    assert gone.kept == {str(library): 13} and gone.removed == 0 and gone.skipped == {}
    library.mkdir()  # its empty mount point
    empty = engine.index_folder(engine.folders())
    assert empty.kept == {str(library): 13} and empty.removed == 0 and engine.store.count() == 13
    library.rmdir()
    (tmp_path / "unplugged").rename(library)  # mounted again: nothing to embed
    back = engine.index_folder(engine.folders())
    assert back.unchanged == 13 and not back.kept and engine.encoder.images_embedded == before
    shutil.rmtree(library / "a")  # photos deleted where the folder still has some: they leave
    assert engine.index_folder(library).removed == 6 and engine.store.count() == 7
    engine.index_folder(library / "b" / "c")  # covered as a folder of its own too
    shutil.rmtree(library / "b" / "c")  # deleted inside a folder that is there: they leave
    inner = engine.index_folder(engine.folders())
    assert not inner.kept and inner.removed == 6 and engine.store.count() == 1
    shutil.rmtree(library / "b")
    assert engine.index_folder(library).kept == {str(library): 1}
    assert engine.remove_folder(library) == 1 and engine.store.count() == 0  # forgotten when asked


def test_first_run_adds_everything_and_second_run_touches_nothing(engine, library):
    report = engine.index_folder(library)
    assert (report.found, report.added, report.embedded, report.skipped_count) == (13, 13, 13, 0)
    before = engine.encoder.images_embedded
    again = engine.index_folder(library)
    assert (again.unchanged, again.added, again.updated, again.embedded) == (13, 0, 0, 0)
    assert engine.encoder.images_embedded == before
    assert engine.store.count() == 13
    assert engine.store.check() == []


def test_rename_and_move_reuse_vectors(engine, library):
    engine.index_folder(library)
    old = library / "a" / "p00.jpg"
    vector = engine.store.vector(str(old))
    new = library / "b" / "renamed.jpg"
    os.rename(old, new)
    before = engine.encoder.images_embedded
    report = engine.index_folder(library)
    assert (report.moved, report.added, report.removed, report.embedded) == (1, 0, 0, 0)
    assert engine.encoder.images_embedded == before
    assert engine.store.get(str(old)) is None
    np.testing.assert_array_equal(engine.store.vector(str(new)), vector)
    assert engine.store.count() == 13


def test_delete_and_change_and_touch(engine, library):
    engine.index_folder(library)
    (library / "a" / "p01.jpg").unlink()
    save(photo(160, 120, seed=99), library / "a" / "p02.jpg", quality=90)  # new content
    os.utime(library / "a" / "p03.jpg", ns=(10**18, 10**18))  # same content, new mtime
    report = engine.index_folder(library)
    assert report.removed == 1
    assert report.updated == 2
    assert report.embedded == 1
    assert engine.store.get(str(library / "a" / "p03.jpg")).mtime_ns == 10**18
    assert engine.store.count() == 12
    assert engine.store.check() == []


def test_duplicate_content_is_embedded_once(engine, library):
    shutil.copy(library / "a" / "p04.jpg", library / "a" / "copy-in-same-run.jpg")
    report = engine.index_folder(library)
    assert report.added == 14 and report.embedded == 13 and report.reused == 1
    shutil.copy(library / "a" / "p05.jpg", library / "b" / "copy-later.jpg")
    later = engine.index_folder(library)
    assert later.added == 1 and later.embedded == 0 and later.reused == 1
    np.testing.assert_array_equal(engine.store.vector(str(library / "b" / "copy-later.jpg")),
                                  engine.store.vector(str(library / "a" / "p05.jpg")))


def test_bad_files_are_skipped_with_reasons_and_the_run_goes_on(engine, library):
    (library / "a" / "broken.jpg").write_text("not really a jpeg")
    (library / "a" / "empty.png").write_bytes(b"")
    report = engine.index_folder(library)
    assert report.added == 13
    assert report.skipped == {"not an image": [str(library / "a" / "broken.jpg")],
                              "empty file": [str(library / "a" / "empty.png")]}


def test_dry_run_changes_nothing(engine, library):
    report = engine.index_folder(library, dry_run=True)
    assert report.dry_run and report.added == 13
    assert engine.store.count() == 0
    assert engine.encoder.images_embedded == 0


def test_a_dry_run_counts_what_the_run_then_does(engine, library):
    """Moves, copies, broken and changed files: the dry run's counts are the run's, nothing read
    but headers, the bytes of new files whose size a photo that left had, and those of changed
    JPEGs and PNGs whose picture the index knows (an edit of their metadata alone keeps its vector)."""
    engine.index_folder(library)
    (library / "a" / "p00.jpg").rename(library / "moved.jpg")  # a move: its vector is kept
    shutil.copy(library / "a" / "p01.jpg", library / "copy.jpg")  # a copy: added, its vector reused
    (library / "a" / "p02.jpg").unlink()
    (library / "broken.jpg").write_bytes(b"no picture")
    (library / "empty.png").write_bytes(b"")
    save(photo(160, 120, seed=77), library / "b" / "c" / "p06.jpg", quality=80)  # changed
    save(photo(160, 120, seed=78), library / "new.jpg", quality=90)
    dry = engine.index_folder(library, dry_run=True)
    assert engine.encoder.images_embedded == 13 and engine.store.count() == 13  # nothing done
    real = engine.index_folder(library)
    counts = ("added", "updated", "moved", "removed", "unchanged", "found", "reused")
    assert [getattr(dry, c) for c in counts] == [getattr(real, c) for c in counts] == [2, 1, 1, 1, 10, 16, 1]
    assert dry.skipped == real.skipped == {"not an image": [str(library / "broken.jpg")],
                                           "empty file": [str(library / "empty.png")]}


def test_a_full_disk_says_what_to_do_and_loses_nothing(engine, library, monkeypatch):
    import sqlite3

    from clipsearch import StoreWriteError
    from clipsearch.stores.records import RecordStore

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(RecordStore, "_apply", full)
    with pytest.raises(StoreWriteError, match=r"disk is full \(the disk is full: free some space and run "
                                              r"again; what was indexed so far is kept\)"):
        engine.index_folder(library)
    monkeypatch.undo()  # space freed: the run goes on
    assert engine.index_folder(library).added == 13 and engine.store.count() == 13


def test_an_index_that_cannot_be_opened_says_why(tmp_path, monkeypatch):
    """SQLite writes beside its file even to read it; on a full disk it says only "disk I/O error"."""
    import sqlite3
    from collections import namedtuple

    from clipsearch import StoreWriteError
    from clipsearch.stores import sqlite_files as records

    def refused(path):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(records, "_connect", refused)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: usage(10 << 20, 10 << 20, 0))
    with pytest.raises(StoreWriteError, match=r"cannot open the index in .*: disk I/O error \(the disk is full"):
        records.connect(tmp_path / "records.sqlite")
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: usage(10 << 30, 0, 10 << 30))
    with pytest.raises(StoreWriteError, match=r"disk I/O error$"):  # room enough, a writable folder: no guess
        records.connect(tmp_path / "records.sqlite")


def test_a_read_only_index_is_searched_as_it_is_and_a_writer_is_told_why(engine, library, monkeypatch):
    """A share or container volume mounted read-only, a full disk: SQLite cannot make its small
    files beside the index, so a reader reads the file as it is, unless a log beside it holds more."""
    import sqlite3

    from clipsearch import StoreWriteError
    from clipsearch.textindex import TextIndex

    engine.set_text_reading(True)  # a text store too
    engine.index_folder(library)
    expected = [h.path for h in engine.search_text("a photo", k=5, cutoff=0.0)]
    engine.close()  # the writer ends: its log folded back in
    folder = engine.settings.index_dir
    real = sqlite3.connect

    def read_only_folder(target, *args, uri=False, **kwargs):
        if not uri:  # what a read-only folder refuses: the files SQLite makes beside the database
            raise sqlite3.OperationalError("unable to open database file")
        return real(target, *args, uri=uri, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only_folder)
    with pytest.raises(StoreWriteError, match="cannot open the index in"):  # room, a folder it may write
        open_store(folder, engine.encoder.stamp)  # in: a passing refusal, not a read-only folder
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(1 << 30, 1 << 30, 0))  # as full as a read-only one
    store = open_store(folder, engine.encoder.stamp)
    reader = SearchEngine(engine.encoder, store, settings=engine.settings)
    assert [h.path for h in reader.search_text("a photo", k=5, cutoff=0.0)] == expected
    assert reader.info()["count"] == 13 and TextIndex.open(folder) is not None
    reader.close()
    with pytest.raises(StoreWriteError, match="cannot open the index in"):
        open_store(folder, engine.encoder.stamp, create=True)
    (folder / "records.sqlite-wal").write_bytes(b"newer batches")  # a writer at work, or one that died
    with pytest.raises(StoreWriteError, match="cannot open the index in"):
        open_store(folder, engine.encoder.stamp)


def test_a_run_reports_its_scan_before_its_batches(engine, library, monkeypatch):
    import itertools

    import clipsearch.images

    ticks = itertools.count(0.0, 1.0)  # a slow share: a second per look at the clock
    monkeypatch.setattr(clipsearch.images.time, "monotonic", lambda: next(ticks))
    heard = []
    engine.index_folder(library, progress=heard.append)
    scanning = [p for p in heard if p.scanning]
    assert scanning and heard[: len(scanning)] == scanning  # first, then the batches
    assert all(p.to_process == 0 and p.found <= 13 for p in scanning) and heard[-1].found == 13


def test_a_folder_removed_inside_a_covered_one_stays_out_until_it_is_named(engine, library):
    """``--remove ~/Pictures/Screenshots`` of an index over ~/Pictures: the next cron run over
    ~/Pictures must not embed them all again."""
    engine.index_folder(library)
    embedded = engine.encoder.images_embedded
    assert engine.remove_folder(library / "b") == 7 and engine.store.count() == 6
    assert engine.info()["left_out"] == [str(library / "b")] and engine.folders() == [str(library)]
    again = engine.index_folder(engine.folders())  # what cron does
    assert again.added == 0 and again.found == 6 and engine.store.count() == 6
    inner = engine.index_folder(library / "b" / "c")  # a folder inside it, named: that one alone
    assert inner.added == 6 and engine.info()["left_out"] == [str(library / "b")]
    assert engine.index_folder(engine.folders()).added == 0 and engine.store.count() == 12
    back = engine.index_folder(library / "b")  # named: back in, its photos' vectors reused where kept
    assert back.added == 1 and engine.info()["left_out"] == [] and engine.store.count() == 13
    assert engine.encoder.images_embedded == embedded + 7  # each left-out photo embedded once more
    assert engine.remove_folder(library / "b") == 7  # covered now, and inside a covered folder: out again
    assert engine.info()["left_out"] == [str(library / "b")] and engine.folders() == [str(library)]  # b/c too
    assert engine.remove_folder(library) == 6 and engine.info()["left_out"] == []  # the whole: nothing left out


def test_index_lock_refuses_a_second_writer(engine, library):
    with IndexLock(engine.settings.index_dir):
        with pytest.raises(IndexLocked, match="being updated by process"):
            engine.index_folder(library)
    assert engine.index_folder(library).added == 13  # released


def test_should_stop_commits_finished_batches_and_resume_completes(engine, library):
    calls = []

    def stop_after_first_batch() -> bool:
        calls.append(1)
        return True

    report = engine.index_folder(library, should_stop=stop_after_first_batch, batch_size=4)
    assert report.interrupted
    partial = engine.store.count()
    assert 0 < partial < 13
    resumed = engine.index_folder(library, batch_size=4)
    assert resumed.unchanged == partial and resumed.added == 13 - partial
    assert engine.store.count() == 13


def test_two_folders_share_an_index_and_one_can_be_removed(engine, library):
    engine.index_folder([library / "a"])
    engine.index_folder([library / "b"])
    assert engine.store.count() == 13
    assert sorted(engine.info()["folders"]) == [str(library / "a"), str(library / "b")]
    # re-indexing one folder does not remove the other's images
    assert engine.index_folder([library / "a"]).removed == 0
    assert engine.remove_folder(library / "b") == 7
    assert engine.store.count() == 6
    assert engine.info()["folders"] == [str(library / "a")]


def test_search_image_and_similar_find_the_picture_itself(engine, library):
    engine.index_folder(library)
    target = library / "b" / "c" / "p08.jpg"
    assert engine.search_image(target, k=1)[0].path == str(target)
    hits = engine.similar(target, k=3)
    assert len(hits) == 3 and str(target) not in [h.path for h in hits]
    assert engine.similar(target, k=1, include_self=True)[0].path == str(target)
    outside = library.parent / "not-indexed.jpg"
    save(photo(50, 50, seed=3), outside)
    with pytest.raises(InvalidQuery, match="not in the index"):
        engine.similar(outside)  # never opens a file the index does not hold


def test_composite_query_is_the_weighted_sum(engine, library):
    engine.index_folder(library)
    enc = engine.encoder
    a, b = enc.embed_texts(["a"])[0], enc.embed_texts(["b"])[0]
    vector, text_like = engine.query_vector([QueryTerm(2.0, text="a"), QueryTerm(-1.0, text="b")])
    expected = (2 * a - b) / np.linalg.norm(2 * a - b)
    np.testing.assert_allclose(vector, expected, atol=1e-6)
    assert text_like
    image_vector, text_like = engine.query_vector([QueryTerm(1.0, image=library / "a" / "p00.jpg")])
    assert not text_like
    with pytest.raises(InvalidQuery):
        engine.search("")
    with pytest.raises(InvalidQuery):
        engine.search([QueryTerm(1.0, text="x"), QueryTerm(-1.0, text="x")])


def test_filters_pass_through(engine, library):
    engine.index_folder(library)
    hits = engine.search_text("anything", k=50, where=SearchFilter(folder=str(library / "b")))
    assert len(hits) == 7 and all(h.path.startswith(str(library / "b") + os.sep) for h in hits)


def test_reader_engine_reloads_after_a_writer_commits(engine, library, tmp_path):
    reader = SearchEngine(engine.encoder, open_store(engine.settings.index_dir), settings=engine.settings)
    assert reader.store.count() == 0
    engine.index_folder(library)
    assert reader.reload_if_changed() is True
    assert reader.store.count() == 13
    assert reader.reload_if_changed() is False
    assert len(reader.search_text("x", k=20)) == 13


def test_concurrent_searches_during_indexing_never_fail(engine, library):
    errors, stop = [], threading.Event()
    reader = SearchEngine(engine.encoder, open_store(engine.settings.index_dir), settings=engine.settings)

    def search_loop():
        while not stop.is_set():
            try:
                reader.reload_if_changed()
                reader.search_text("x", k=5)
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)

    thread = threading.Thread(target=search_loop)
    thread.start()
    try:
        engine.index_folder(library, batch_size=2)
    finally:
        stop.set()
        thread.join()
    assert errors == []


def test_a_search_is_in_progress_for_the_batcher_from_its_words_to_its_answer(engine, library):
    """``search`` runs inside the encoder's ``query`` (batching: while other queries are busy
    with their search, a model call keeps to one core), also when the search fails."""
    engine.index_folder(library)
    seen = []

    class Watching(FakeEncoder):
        from contextlib import contextmanager

        @contextmanager
        def query(self):
            seen.append("in")
            try:
                yield
            finally:
                seen.append("out")

        def embed_texts(self, texts):
            seen.append("model")
            return super().embed_texts(texts)

    engine.encoder = Watching()
    assert engine.search_text("a photo", k=3)
    assert seen == ["in", "model", "out"]
    seen.clear()
    with pytest.raises(InvalidQuery):
        engine.search_text("   ")
    assert seen in ([], ["in", "out"])  # refused before it began, or left when it failed


def test_searches_decide_in_turn_while_their_model_calls_overlap(engine, library):
    """Concurrent queries' model calls overlap (the batcher shares them), but what follows them,
    the index search and the cut-off, runs one query at a time: interleaved on the request threads'
    core, every query would finish late together (docs/performance.md)."""
    engine.index_folder(library)
    texts = ["a red photo", "a blue photo", "a photo + red", "something - blue"]
    all_in_the_model = threading.Barrier(len(texts), timeout=10)
    searching, most, count = [0], [0], threading.Lock()

    class AllAtOnce(FakeEncoder):
        def embed_texts(self, words):
            all_in_the_model.wait()  # times out if the model calls were taken in turn
            return super().embed_texts(words)

    store_search = engine.store.search

    def slow_search(*args, **kwargs):
        with count:
            searching[0] += 1
            most[0] = max(most[0], searching[0])
        try:
            time.sleep(0.02)
            return store_search(*args, **kwargs)
        finally:
            with count:
                searching[0] -= 1

    engine.store.search = slow_search
    engine.encoder = AllAtOnce()
    picture = str(library / "a" / "p00.jpg")
    answers, errors = {}, []

    def ask(query):
        try:
            answers[query] = engine.search_text(query, k=3) if query in texts else engine.similar(query, k=3)
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(q,)) for q in [*texts, picture]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(answers) == {*texts, picture} and all(answers.values())
    assert most[0] == 1


def test_decode_threads_take_every_core_only_when_the_model_runs_on_a_gpu(monkeypatch, library, tmp_path):
    from clipsearch.pipeline import IndexingPipeline

    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    on_cpu, on_gpu = FakeEncoder(), FakeEncoder()
    on_gpu.device = "cuda"
    assert IndexingPipeline(on_cpu, store=None).workers == 4  # the model needs the cores too
    assert IndexingPipeline(on_gpu, store=None).workers == 16
    assert IndexingPipeline(on_gpu, store=None, workers=3).workers == 3  # --workers wins
    # and an index built that way is whole
    store = open_store(tmp_path / "gpu-index", on_gpu.stamp, create=True)
    report = IndexingPipeline(on_gpu, store).run([str(library)])
    assert report.embedded == 13 and not report.skipped_count and store.count() == 13
    store.close()


def counting_reads(monkeypatch) -> list[str]:
    """The paths the pipeline's workers read from now on."""
    import clipsearch.decoding

    reads, read = [], clipsearch.decoding.read_file_bytes
    monkeypatch.setattr(clipsearch.decoding, "read_file_bytes", lambda path, *a: reads.append(path) or read(path, *a))
    return reads


def test_a_file_replaced_by_another_of_its_size_and_time_is_read_again(engine, tmp_path, monkeypatch):
    """README (Index a folder): a file whose bytes a sync tool replaced, keeping its size and time, is
    told by its file id (inode, ctime) and embedded anew; a copy of the same content, a chmod or a
    touch is read but not embedded; a run over files that did not change reads none."""
    from pathlib import Path

    readme = " ".join((Path(__file__).parents[2] / "README.md").read_text().split())
    assert ("one replaced by another of the same size and modification time (`rsync -t`, `cp --preserve`, a "
            "restore from a backup) is told by its inode and change time, read again, and embedded anew") in readme
    library = tmp_path / "bitmaps"
    one, two, three = (save(photo(160, 120, seed=i), library / f"{name}.bmp") for i, name in
                       enumerate(("one", "two", "three")))
    engine.index_folder(library)
    old, stat = engine.store.vector(str(one)), one.stat()
    reads = counting_reads(monkeypatch)
    save(photo(160, 120, seed=7), one)  # other pixels, the same size (an uncompressed bitmap)
    os.utime(one, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert one.stat().st_size == stat.st_size
    dry = engine.index_folder(library, dry_run=True)
    assert (dry.updated, dry.unchanged, reads) == (1, 2, [])
    report = engine.index_folder(library)
    assert (report.updated, report.embedded, report.unchanged) == (1, 1, 2) and set(reads) == {str(one)}
    assert not np.array_equal(engine.store.vector(str(one)), old)
    before, vector = engine.encoder.images_embedded, engine.store.vector(str(two))
    shutil.copy2(two, tmp_path / "copy.bmp")  # the same content in a new file, its time kept (a restore)
    os.replace(tmp_path / "copy.bmp", two)
    three.chmod(0o600)
    reads.clear()
    report = engine.index_folder(library)
    assert (report.updated, report.embedded, report.unchanged) == (0, 0, 3)
    assert reads in ([str(two), str(three)], [str(three), str(two)]) and engine.encoder.images_embedded == before
    np.testing.assert_array_equal(engine.store.vector(str(two)), vector)
    reads.clear()
    again = engine.index_folder(library)  # nothing changed: a stat a file, nothing read
    assert (again.unchanged, again.updated, reads) == (3, 0, [])
    os.utime(three)  # touch: read, the same content, not embedded
    touched = engine.index_folder(library)
    assert (touched.updated, touched.embedded, reads) == (1, 0, [str(three)])
    assert engine.store.check() == []


def test_a_disk_whose_files_all_changed_ids_at_once_is_not_read_again(engine, tmp_path, monkeypatch):
    """README (Index a folder): a share mounted again with new inode numbers (every file replaced by
    a copy of itself here), or a ``chmod -R``: trusted on size and time, nothing read, the new ids
    recorded; one file replaced among them afterwards is still told and read."""
    from pathlib import Path

    readme = " ".join((Path(__file__).parents[2] / "README.md").read_text().split())
    assert "those files are trusted on their size and time and not read" in readme
    library = tmp_path / "share"
    photos = [save(photo(160, 120, seed=i), library / f"p{i:02}.bmp") for i in range(20)]
    engine.index_folder(library)
    before, reads = engine.encoder.images_embedded, counting_reads(monkeypatch)
    for path in photos:  # new inodes, the same sizes and times
        shutil.copy2(path, tmp_path / "copy.bmp")
        os.replace(tmp_path / "copy.bmp", path)
    report = engine.index_folder(library)
    assert (report.unchanged, report.updated, reads) == (20, 0, [])
    assert engine.store.file_ids()[str(photos[0])] == (photos[0].stat().st_ino, photos[0].stat().st_ctime_ns)
    for path in photos:
        path.chmod(0o600)  # chmod -R: new ctimes
    assert (engine.index_folder(library).unchanged, reads) == (20, [])
    stat = photos[3].stat()
    save(photo(160, 120, seed=70), photos[3])  # other pixels, the same size and time: one replaced
    os.utime(photos[3], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    report = engine.index_folder(library)
    assert (report.updated, report.embedded, set(reads)) == (1, 1, {str(photos[3])})
    assert engine.encoder.images_embedded == before + 1


def test_an_index_without_file_ids_trusts_size_and_time_once_and_reads_nothing(engine, library, monkeypatch):
    """An index of a release before file ids (or one such a release wrote to since): its records are
    trusted on size and time once, nothing is read or embedded, and their file ids are recorded."""
    import sqlite3

    engine.index_folder(library)
    with sqlite3.connect(engine.store.folder / "records.sqlite") as db:
        db.execute("DELETE FROM file_ids")
    assert engine.store.file_ids() == {}
    before, reads = engine.encoder.images_embedded, counting_reads(monkeypatch)
    report = engine.index_folder(library)
    assert (report.unchanged, report.updated, report.embedded, reads) == (13, 0, 0, [])
    assert engine.encoder.images_embedded == before and len(engine.store.file_ids()) == 13
    save(photo(160, 120, seed=70), library / "a" / "p00.jpg", quality=90)  # from now on, told
    assert engine.index_folder(library).embedded == 1


def test_a_dry_run_of_an_index_that_reads_words_says_how_many_photos_it_would_read(engine, library, tmp_path,
                                                                                   monkeypatch, capsys):
    import json

    import clipsearch.textsearch
    import indexer.cli
    from clipsearch import IndexNotFound
    from clipsearch.ocr import PageText
    from clipsearch.textindex import PageResult

    def no_model(*args, **kwargs):
        raise AssertionError("a dry run loads no OCR model")

    engine.index_folder(library)
    engine.set_text_reading(True)
    text = engine.text.store()
    text.sync_files(engine.store.records())
    text.put([PageResult(engine.store.get(str(library / "a" / "p00.jpg")).fingerprint, PageText((), 160, 120))])
    save(photo(160, 120, seed=79), library / "new.jpg", quality=90)
    monkeypatch.setattr(clipsearch.textsearch, "TextReader", no_model)
    monkeypatch.setattr(indexer.cli.SearchEngine, "for_writing", lambda settings, **_: engine)
    monkeypatch.setattr(engine, "close", lambda: None)  # the indexer closes its engine; the fixture does
    index = str(tmp_path / "index")
    assert indexer.cli.main([str(library), "--dry-run", "--index", index]) == 0
    assert "  text: would read the words in 13 photos (1 new or changed); 1 already read" in capsys.readouterr().out
    assert indexer.cli.main([str(library), "--dry-run", "--index", index, "--json"]) == 0
    said = json.loads(capsys.readouterr().out)["text"]
    assert (said["dry_run"], said["to_read"], said["new"], said["already_read"]) == (True, 13, 1, 1)
    assert text.counts()["read"] == 1 and engine.store.count() == 13  # nothing read, nothing written
    assert indexer.cli.main([str(library), "--dry-run", "--no-ocr", "--index", index]) == 0
    assert "text:" not in capsys.readouterr().out and engine.text.enabled  # --no-ocr: not asked, not turned off

    def no_index(settings, **_):
        raise IndexNotFound("none")

    monkeypatch.setattr(indexer.cli.SearchEngine, "for_writing", no_index)
    assert indexer.cli.main([str(library), "--dry-run", "--ocr", "--index", str(tmp_path / "none")]) == 0
    assert "  text: would read the words in 14 photos (14 new or changed); 0 already read" in capsys.readouterr().out
