"""The video store (``videos.sqlite``), the video pass's own decisions, and the moments' search."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading

import numpy as np
import pytest

from clipsearch.demo import Scene, SceneObject
from clipsearch.demo.clips import write_clip
from clipsearch.errors import StoreWriteError
from clipsearch.stores.base import SearchFilter
from clipsearch.videoindex import VIDEO_DB_NAME, VideoIndex, VideoRecord
from clipsearch.videopass import VideoPass, distinct_moments, fingerprint_file
from clipsearch.videos import VideoSide, clock
from testsupport.fakes import FakeEncoder


def unit(*values: float) -> np.ndarray:
    v = np.array(values, np.float32)
    return v / np.linalg.norm(v)


def video(path: str, fingerprint: str, date: str | None = None, duration: float = 10.0) -> VideoRecord:
    return VideoRecord(path, 100, 1, fingerprint, duration, 64, 48, date)


def test_a_store_is_made_only_when_asked_and_remembers_whether_it_reads_videos(tmp_path):
    assert VideoIndex.open(tmp_path) is None and not (tmp_path / VIDEO_DB_NAME).exists()
    store = VideoIndex.open(tmp_path, create=True)
    assert not store.enabled and store.generation() == 0 and store.stamp is None
    store.set_enabled(True)
    store.close()
    again = VideoIndex.open(tmp_path)
    assert again.enabled and again.counts() == {"videos": 0, "seconds": 0.0, "moments": 0, "unreadable": 0}
    again.close()


def test_a_newer_schema_is_refused_not_misread(tmp_path):
    VideoIndex.open(tmp_path, create=True).close()
    with sqlite3.connect(tmp_path / VIDEO_DB_NAME) as db:
        db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StoreWriteError, match="schema version 99"):
        VideoIndex.open(tmp_path)


def test_moments_belong_to_the_content_and_leave_with_its_last_path(tmp_path):
    store = VideoIndex.open(tmp_path, create=True)
    store.put(video("/v/a.mp4", "fa"), "2020-01-01", [(0.0, unit(1, 0)), (2.0, unit(0, 1))], stamp={"model": "m"})
    store.put(video("/v/copy.mp4", "fa"), "2020-01-01")  # a copy: no moments of its own
    store.put(video("/w/b.mp4", "fb", date="2023-05-05T10:00:00"), "2023-05-05T10:00:00", [(1.0, unit(1, 1))])
    assert store.stamp == {"model": "m"} and store.by_fingerprint("fa").path == "/v/a.mp4"
    assert store.moment_times("fa") == [0.0, 2.0] and store.counts()["moments"] == 3
    moments = store.moments()
    assert moments.rows == {"fa": slice(0, 2), "fb": slice(2, 3)} and moments.vectors.shape == (3, 2)
    assert store.moments() is moments  # kept until the next change
    assert [r.path for r in store.records(SearchFilter(folder="/v"))] == ["/v/a.mp4", "/v/copy.mp4"]
    assert [r.path for r in store.records(SearchFilter(date_from="2021-01-01"))] == ["/w/b.mp4"]
    assert store.forget(["/v/a.mp4"]) == 1 and store.has_moments("fa")  # the copy keeps them
    assert store.forget(["/v/copy.mp4", "/nowhere.mp4"]) == 1 and not store.has_moments("fa")
    assert store.moments() is not moments and store.counts()["moments"] == 1
    store.close()


def test_an_unreadable_video_is_remembered_and_keeps_its_moments_until_it_is_read_again(tmp_path):
    store = VideoIndex.open(tmp_path, create=True)
    store.put(video("/v/a.mp4", "fa"), "2020", [(0.0, unit(1, 0))])
    store.mark_unreadable("/v/a.mp4", (200, 2, "corrupt video", 7, 9))  # broken: kept as last read, as a photo
    assert [r.path for r in store.records()] == ["/v/a.mp4"] and store.counts()["moments"] == 1
    assert store.unreadable() == {"/v/a.mp4": (200, 2, "corrupt video", 7, 9)}
    store.put(video("/v/a.mp4", "fb"), "2020", [(0.0, unit(0, 1))], file_id=(8, 10))  # mended: read again
    assert store.unreadable() == {} and store.by_fingerprint("fb") is not None
    assert not store.has_moments("fa")  # the content before it broke: no path holds it now
    assert store.file_ids() == {"/v/a.mp4": (8, 10)}
    store.forget(["/v/a.mp4"])
    assert store.file_ids() == {}
    store.forget_all_moments()
    assert store.records() == [] and store.stamp is None
    store.close()


def test_a_still_shot_is_one_moment_and_each_change_is_another():
    red, blue = unit(1, 0, 0), unit(0, 1, 0)
    near_red = unit(1, 0.05, 0)
    kept = distinct_moments([0, 2, 4, 6, 8], np.stack([red, near_red, red, blue, blue]))
    assert [t for t, _ in kept] == [0, 6]
    assert [t for t, _ in distinct_moments([0, 2, 4], np.stack([red, blue, red]))] == [0, 2, 4]
    assert distinct_moments([], np.zeros((0, 3), np.float32)) == []
    vectors = np.stack([red, near_red, red, blue, blue])  # a batch at a time, as a pass embeds them
    kept = distinct_moments([0, 2], vectors[:2])
    assert distinct_moments([4, 6, 8], vectors[2:], kept=kept) is kept and [t for t, _ in kept] == [0, 6]


def test_times_read_as_people_write_them():
    assert [clock(s) for s in (0, 7.9, 83, 600, 3723.5)] == ["0:00", "0:07", "1:23", "10:00", "1:02:03"]


def test_the_search_answers_one_result_a_video_with_its_other_matching_moments(tmp_path):
    store = VideoIndex.open(tmp_path, create=True)
    query = unit(1, 0)
    store.put(video("/v/a.mp4", "fa"), "2020-06-01T00:00:00", [(0.0, unit(0, 1)), (4.0, unit(1, 0.1)), (8.0, unit(1, 0.3))])
    store.put(video("/v/b.mp4", "fb"), "2021-06-01T00:00:00", [(1.0, unit(1, 1)), (3.0, unit(0.2, 1))])
    store.close()
    side = VideoSide(tmp_path)
    seen = {}

    def matching(scores, standing, moments):
        top, sample = standing(scores)
        seen.update(top=top, sample=sample, total=len(moments.times))
        return scores >= 0.9

    found = side.search(query, 10, None, matching)
    assert [(m.path, m.at, m.strong, m.also) for m in found] == [("/v/a.mp4", 4.0, True, (8.0,)),
                                                                ("/v/b.mp4", 1.0, False, ())]
    assert list(seen["top"]) == sorted(seen["top"], reverse=True) and seen["total"] == 5 and len(seen["sample"]) == 5
    assert [m.path for m in side.search(query, 10, SearchFilter(date_from="2021-01-01"), matching)] == ["/v/b.mp4"]
    assert len(side.search(query, 1, None, matching)) == 1
    assert found[0].to_dict()["also"] == [8.0]

    def second_moments(scores, standing, moments):  # a composite query's matches need not score best
        return np.isin(moments.times, [8.0, 3.0])

    found = side.search(query, 10, None, second_moments)
    assert [(m.path, m.at, m.strong, m.also) for m in found] == [("/v/a.mp4", 8.0, True, ()), ("/v/b.mp4", 3.0, True, ())]
    flat = side.search(query, 10, None, second_moments, strong_from=0.99)  # a flat cut-off: each at its best
    assert [(m.path, m.at, m.strong, m.also) for m in flat] == [("/v/a.mp4", 4.0, True, (8.0,)),
                                                               ("/v/b.mp4", 1.0, False, (3.0,))]
    side.close()


def test_a_pass_reads_new_videos_skips_broken_ones_once_and_starts_over_for_another_model(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    scenes = [Scene((SceneObject("red", "circle"),), "gray"), Scene((SceneObject("blue", "square"),), "white")]
    write_clip(folder / "a.mp4", scenes, seconds_each=2.0, fps=5, size=64)
    (folder / "b.mp4").write_bytes(b"\0" * 4096)
    store = VideoIndex.open(tmp_path / "index", create=True)
    first = VideoPass(store, FakeEncoder()).run([str(folder)], [])
    assert first.read == 1 and first.moments == 2 and list(first.skipped) and first.videos == 2
    assert store.by_fingerprint(fingerprint_file(str(folder / "a.mp4"))).duration == pytest.approx(4.0, abs=0.3)
    second = VideoPass(store, FakeEncoder()).run([str(folder)], [])
    assert (second.read, second.unchanged, second.still_unreadable, second.skipped) == (0, 1, 1, {})
    other = VideoPass(store, FakeEncoder(name="other")).run([str(folder)], [])
    assert other.read == 1 and store.stamp["model"] == "other"
    store.close()


def test_a_broken_video_replaced_by_a_good_copy_of_its_size_and_time_is_read_again(tmp_path):
    """``rsync -t`` or a restore puts the good video back with the size and time of the broken one a
    pass skipped (its inode and ctime tell them apart), and a video so replaced by a copy of itself
    is hashed again, not trusted on its size and time."""
    folder, good = tmp_path / "clips", tmp_path / "good.mp4"
    folder.mkdir()
    write_clip(good, [Scene((SceneObject("red", "circle"),), "gray")], seconds_each=2.0, fps=5, size=64)
    broken = folder / "b.mp4"
    broken.write_bytes(b"\0" * good.stat().st_size)  # no video, the good copy's size and time
    os.utime(broken, ns=(good.stat().st_atime_ns, good.stat().st_mtime_ns))
    store = VideoIndex.open(tmp_path / "index", create=True)
    assert list(VideoPass(store, FakeEncoder()).run([str(folder)], []).skipped)
    assert VideoPass(store, FakeEncoder()).run([str(folder)], []).still_unreadable == 1
    staged = folder / ".b.mp4.tmp"
    shutil.copy2(good, staged)  # the size and time of the broken file, another inode
    os.replace(staged, broken)
    assert (broken.stat().st_size, broken.stat().st_mtime_ns) == (good.stat().st_size, good.stat().st_mtime_ns)
    mended = VideoPass(store, FakeEncoder()).run([str(folder)], [])
    assert (mended.read, mended.still_unreadable, mended.skipped) == (1, 0, {})
    assert [r.path for r in store.records()] == [str(broken)] and store.unreadable() == {}
    shutil.copy2(good, staged)
    os.replace(staged, broken)  # the same again, as another file: hashed, its moments kept
    again = VideoPass(store, FakeEncoder()).run([str(folder)], [])
    assert (again.read, again.reused, again.unchanged) == (0, 1, 0)
    assert VideoPass(store, FakeEncoder()).run([str(folder)], []).unchanged == 1
    store.close()


def test_videos_of_a_share_mounted_again_with_new_inodes_are_not_read_again(tmp_path, monkeypatch):
    """Every video of a disk with new inode numbers at once (a share mounted again): trusted on size
    and time, none hashed (a whole read of each), their new ids recorded."""
    import clipsearch.file_identity
    import clipsearch.videopass

    monkeypatch.setattr(clipsearch.file_identity, "MASS_LEAST", 2)  # two clips stand for a share
    folder = tmp_path / "clips"
    folder.mkdir()
    clips = [folder / "a.mp4", folder / "b.mp4"]
    for clip, colour in zip(clips, ("red", "blue"), strict=True):
        write_clip(clip, [Scene((SceneObject(colour, "circle"),), "gray")], seconds_each=1.0, fps=5, size=64)
    store = VideoIndex.open(tmp_path / "index", create=True)
    assert VideoPass(store, FakeEncoder()).run([str(folder)], []).read == 2
    for clip in clips:
        shutil.copy2(clip, tmp_path / "staged.mp4")
        os.replace(tmp_path / "staged.mp4", clip)
    hashed = []
    monkeypatch.setattr(clipsearch.videopass, "fingerprint_file", lambda path: hashed.append(path) or "x")
    again = VideoPass(store, FakeEncoder()).run([str(folder)], [])
    assert (again.read, again.reused, again.unchanged, hashed) == (0, 0, 2, [])
    assert store.file_ids()[str(clips[0])] == (clips[0].stat().st_ino, clips[0].stat().st_ctime_ns)
    store.close()


def test_a_store_of_a_release_before_file_ids_trusts_size_and_time_once(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    write_clip(folder / "a.mp4", [Scene((SceneObject("red", "circle"),), "gray")], seconds_each=1.0, fps=5, size=64)
    (folder / "b.mp4").write_bytes(b"\0" * 4096)
    store = VideoIndex.open(tmp_path / "index", create=True)
    VideoPass(store, FakeEncoder()).run([str(folder)], [])
    store.close()
    with sqlite3.connect(tmp_path / "index" / VIDEO_DB_NAME) as db:
        db.execute("DROP TABLE file_ids")  # as a release before wrote it
    store = VideoIndex.open(tmp_path / "index")
    assert store.file_ids() == {} and store.unreadable()[str(folder / "b.mp4")][3:] == (0, 0)
    encoder = FakeEncoder()
    first = VideoPass(store, encoder).run([str(folder)], [])
    assert (first.read, first.reused, first.unchanged, first.still_unreadable) == (0, 0, 1, 1)
    assert encoder.images_embedded == 0 and set(store.file_ids()) == {str(folder / "a.mp4"), str(folder / "b.mp4")}
    assert store.unreadable()[str(folder / "b.mp4")][3] == (folder / "b.mp4").stat().st_ino
    store.close()


def test_a_long_video_is_embedded_a_batch_at_a_time_and_a_stop_in_it_leaves_it_for_the_next_pass(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    colours = ["red", "blue", "green", "yellow", "purple", "orange", "white"]
    scenes = [Scene((SceneObject(c, "circle"),), "gray") for c in colours]
    write_clip(folder / "long.mp4", scenes, seconds_each=2.0, fps=5, size=64)
    store = VideoIndex.open(tmp_path / "index", create=True)
    encoder, told = FakeEncoder(batch_size=2), []

    def told_so_far(state):
        told.append((state.current, state.seconds, state.moments, state.read))

    stopped = VideoPass(store, encoder, progress=told_so_far, should_stop=lambda: len(told) >= 2).run([str(folder)], [])
    assert stopped.interrupted and stopped.left == 1 and stopped.read == 0 and stopped.moments == 0
    assert store.records() == [] and encoder.images_embedded == 4  # two batches, then the stop
    assert [(seconds, moments) for _, seconds, moments, _ in told] == [(2.0, 2), (6.0, 4)]  # told inside the video
    for thread in [t for t in threading.enumerate() if t.name == "video decode"]:
        thread.join(5)
        assert not thread.is_alive()  # its decoding stopped with it
    encoder = FakeEncoder(batch_size=2)
    whole = VideoPass(store, encoder).run([str(folder)], [])
    assert (whole.read, whole.moments, whole.interrupted) == (1, 7, False)
    assert encoder.largest_batch == 2 and encoder.images_embedded == 7  # never the whole video at once
    assert store.moment_times(fingerprint_file(str(folder / "long.mp4"))) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    store.close()


def test_a_folder_gone_keeps_its_videos(tmp_path):
    folder = tmp_path / "disk"
    folder.mkdir()
    write_clip(folder / "a.mp4", [Scene((SceneObject("red", "circle"),), "gray")], seconds_each=1.0, fps=5, size=64)
    store = VideoIndex.open(tmp_path / "index", create=True)
    VideoPass(store, FakeEncoder()).run([str(folder)], [])
    (folder / "a.mp4").rename(tmp_path / "elsewhere.mp4")
    folder.rmdir()  # unmounted: the folder is gone
    report = VideoPass(store, FakeEncoder()).run([str(folder)], [])
    assert report.kept == {str(folder): 1} and report.removed == 0 and len(store.records()) == 1
    assert report.skipped == {}  # the folder itself is no video that vanished (its absence is said once)
    store.close()


def test_a_moment_far_above_every_other_is_the_only_match_and_a_broad_query_is_cut_as_photos_are():
    from clipsearch.cutoff import relevance_cutoff
    from clipsearch.videos import moments_threshold

    rng = np.random.default_rng(0)
    rest = 0.15 + rng.gamma(2.0, 0.03, 300)  # look-alikes: a long upper tail, as near misses make
    lone = np.sort(np.append(rest, 0.62))[::-1]  # a scene filmed once: one moment far above the rest
    assert relevance_cutoff(lone[:100], lone, len(lone)).threshold < lone[1]  # the photos' rule keeps dozens
    assert lone[1] < moments_threshold(lone, lone, len(lone)) < lone[0]
    broad = np.sort(np.concatenate([rest, rng.normal(0.5, 0.03, 60)]))[::-1]  # a sixth of the moments match
    assert moments_threshold(broad, broad, len(broad)) == relevance_cutoff(broad[:100], broad, len(broad)).threshold
    pair = np.sort(np.concatenate([rest, [0.62, 0.61]]))[::-1]  # two moments: the photos' gap rule decides
    assert moments_threshold(pair, pair, len(pair)) == relevance_cutoff(pair[:100], pair, len(pair)).threshold


def test_the_photos_search_and_the_moments_of_the_same_terms_embed_them_once(tmp_path):
    from clipsearch import SearchEngine, Settings, parse_query
    from clipsearch.stores import open_store

    class Counting(FakeEncoder):
        texts = 0

        def embed_texts(self, texts):
            Counting.texts += len(texts)
            return super().embed_texts(texts)

    folder = tmp_path / "clips"
    folder.mkdir()
    write_clip(folder / "a.mp4", [Scene((SceneObject("red", "circle"),), "gray")], seconds_each=1.0, fps=5, size=64)
    encoder, settings = Counting(), Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    try:
        engine.set_video_reading(True)
        engine.index_folder(folder)
        engine.read_videos()
        engine.moments("warm up: the vague words embed once")
        terms, before = parse_query("a red circle"), Counting.texts
        engine.search(terms)
        assert Counting.texts == before + 1 and engine.moments(terms)[0].path.endswith("a.mp4")
        assert Counting.texts == before + 1  # reused, not embedded again
        engine.moments(parse_query("a red circle"))  # other terms (equal, not the same): embedded
        assert Counting.texts == before + 2
    finally:
        engine.close()


def test_a_dry_run_says_what_a_pass_would_do_and_writes_nothing(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    scene = [Scene((SceneObject("red", "circle"),), "gray")]
    write_clip(folder / "a.mp4", scene, seconds_each=1.0, fps=5, size=64)
    store = VideoIndex.open(tmp_path / "index", create=True)
    VideoPass(store, FakeEncoder()).run([str(folder)], [])
    write_clip(folder / "b.mp4", scene, seconds_each=2.0, fps=5, size=64)
    (folder / "a.mp4").unlink()
    generation, records = store.generation(), store.records()
    dry = VideoPass(store, FakeEncoder()).run([str(folder)], [], dry_run=True)
    assert (dry.dry_run, dry.videos, dry.left, dry.removed, dry.read) == (True, 1, 1, 1, 0)
    assert store.generation() == generation and store.records() == records
    other = VideoPass(store, FakeEncoder(name="other")).run([str(folder)], [], dry_run=True)
    assert other.left == 1 and store.stamp["model"] == "fake"  # another model: all read again, said, not done
    nothing = VideoPass(VideoIndex.empty(), FakeEncoder()).run([str(folder)], [], dry_run=True)
    assert (nothing.videos, nothing.left, nothing.removed) == (1, 1, 0)
    store.close()


def test_the_words_of_moments_are_kept_with_them_and_read_again_when_they_change(tmp_path):
    store = VideoIndex.open(tmp_path, create=True)
    store.put(video("/v/a.mp4", "fa"), "2020-01-01", [(0.0, unit(1, 0)), (2.0, unit(0, 1))], stamp={"model": "m"})
    reader = {"reader": "r", "version": 1}
    assert store.moments_saying('"open"') == {} and "moments_with_words" not in store.counts()  # no table yet
    assert store.words_pending(reader) == [("fa", [0.0, 2.0])]
    store.put_words("fa", reader, [(2.0, "GRAND CAFE\nOpen 7-22", "")], moments=2)
    assert store.words_pending(reader) == [] and store.counts()["moments_with_words"] == 1
    assert store.moments_saying('"open"') == {("fa", 2.0): "GRAND CAFE [Open] 7-22"}
    assert store.moments_saying('"caf"*') and store.moments_saying('"tea"') == {}
    assert store.words_pending({"reader": "r", "version": 2}) == [("fa", [0.0, 2.0])]  # another reader: again
    store.put(video("/v/a.mp4", "fa"), "2020-01-01", [(0.0, unit(1, 0)), (4.0, unit(1, 1))])  # new moments
    assert store.moments_saying('"open"') == {} and store.words_pending(reader) == [("fa", [0.0, 4.0])]
    store.put_words("fa", reader, [(4.0, "OPEN", "")], moments=2)
    store.forget(["/v/a.mp4"])
    assert store.moments_saying('"open"') == {} and store.words_pending(reader) == []
    store.close()


def test_a_moment_matched_by_an_alternate_form_shows_the_words_it_says(tmp_path):
    from clipsearch.textindex import alternate_forms, parse_text_query

    store = VideoIndex.open(tmp_path, create=True)
    store.put(video("/v/a.mp4", "fa"), "2020-01-01", [(0.0, unit(1, 0))], stamp={"model": "m"})
    said = "GINGER94.67 TEA"
    store.put_words("fa", {"reader": "r"}, [(0.0, said, alternate_forms(said))], moments=1)
    query = parse_text_query("ginger")
    assert store.moments_saying(query.exact, query.words) == {("fa", 0.0): "[GINGER94].67 TEA"}
    store.close()


def test_a_moment_that_says_a_word_as_one_is_found_by_a_query_typed_split(tmp_path):
    from clipsearch.textindex import alternate_forms, parse_text_query

    store = VideoIndex.open(tmp_path, create=True)
    store.put(video("/v/a.mp4", "fa"), "2020-01-01", [(0.0, unit(1, 0))], stamp={"model": "m"})
    said = "WIFI CALL 08005551234"
    store.put_words("fa", {"reader": "r"}, [(0.0, said, alternate_forms(said))], moments=1)
    for typed in ("wi-fi", "0800 555 1234", "0800-555-1234", '"0800 555 1234"'):
        query = parse_text_query(typed)
        assert list(store.moments_saying(query.exact, query.words)) == [("fa", 0.0)], typed
    store.close()


def test_a_moment_that_says_a_word_with_an_umlaut_is_found_spelled_with_e(tmp_path):
    from clipsearch.textindex import alternate_forms, parse_text_query

    store = VideoIndex.open(tmp_path, create=True)
    store.put(video("/v/a.mp4", "fa"), "2020-01-01", [(0.0, unit(1, 0))], stamp={"model": "m"})
    said = "Bäckerei KOELN"
    store.put_words("fa", {"reader": "r"}, [(0.0, said, alternate_forms(said))], moments=1)
    for typed, shown in (("baeckerei", "[Bäckerei] KOELN"), ("köln", "Bäckerei [KOELN]")):
        query = parse_text_query(typed)
        assert store.moments_saying(query.exact, query.words) == {("fa", 0.0): shown}, typed
    store.close()
