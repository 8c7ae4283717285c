"""Search inside videos, by moment: real PyAV clips, the demo model, the real stores.

The clips show rendered scenes as still shots of a few seconds each, so every moment's content is
known: a search for a scene's caption must answer its video at that scene's time.
"""

from __future__ import annotations

import json
import os
import random
import shutil

import pytest

from clipsearch import InvalidQuery, ModelSpec, SearchEngine, SearchFilter, Settings
from clipsearch.demo import Scene, SceneObject, render_scene
from clipsearch.demo.clips import write_clip
from testsupport.warm import run_module

from .conftest import REPO, run_indexer

HOLIDAY = [Scene((SceneObject("red", "circle"),), "gray"), Scene((SceneObject("blue", "square"),), "white"),
           Scene((SceneObject("yellow", "star"),), "black")]
GARDEN = [Scene((SceneObject("green", "triangle"),), "brown"), Scene((SceneObject("purple", "cross"),), "white")]


def caption(scene: Scene) -> str:
    return scene.caption


@pytest.fixture
def library(tmp_path):
    """Photos, two clips (an mp4 with a keyframe a second, a webm with one every 5 s, dated), a
    text file named .mp4, and a clip cut off half way."""
    root = tmp_path / "library"
    (root / "clips").mkdir(parents=True)
    (root / "photos").mkdir()
    rng = random.Random(3)
    for i, scene in enumerate(HOLIDAY + GARDEN):
        render_scene(scene, 224, rng).save(root / "photos" / f"p{i}.jpg", quality=90)
    write_clip(root / "clips" / "holiday.mp4", HOLIDAY, seconds_each=2.0, fps=10, size=128)
    write_clip(root / "clips" / "garden.webm", GARDEN, seconds_each=3.0, fps=10, size=128, gop=50,
               creation_time="2021-07-04T10:20:30.000000Z")
    (root / "clips" / "notes.mp4").write_text("not a video at all\n" * 50)
    whole = (root / "clips" / "holiday.mp4").read_bytes()
    (root / "clips" / "cut.mov").write_bytes(whole[: len(whole) // 3])
    return root


@pytest.fixture
def engine(tmp_path, library):
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    engine.set_video_reading(True)
    assert engine.index_folder(library).added == 5
    yield engine
    engine.close()


def best(engine, scene: Scene, **kwargs):
    found = engine.moments(caption(scene), **kwargs)
    assert found, caption(scene)
    return found[0]


def test_each_scene_is_found_in_its_video_at_its_time(engine, library):
    report = engine.read_videos()
    assert report.videos == 4 and report.read >= 2 and report.moments >= 5
    assert "not a video" in report.skipped or "corrupt video" in report.skipped, report.skipped
    for scene, start in zip(HOLIDAY, (0.0, 2.0, 4.0)):
        hit = best(engine, scene)
        assert hit.path == str(library / "clips" / "holiday.mp4") and hit.strong
        assert start <= hit.at < start + 2.0, (caption(scene), hit)
    for scene, start in zip(GARDEN, (0.0, 3.0)):
        hit = best(engine, scene)
        assert hit.path == str(library / "clips" / "garden.webm") and start <= hit.at < start + 3.0
    # one result a video, its best moment's frame: the photos are not among them
    assert all(m.path.endswith((".mp4", ".webm", ".mov")) for m in engine.moments("a red circle", k=20))
    info = engine.info()["videos"]
    assert info["enabled"] and info["videos"] >= 2 and info["moments"] == engine.info()["videos"]["moments"]


def test_a_second_pass_reads_nothing_and_a_moved_video_keeps_its_moments(engine, library):
    engine.read_videos()
    again = engine.read_videos()
    assert again.read == 0 and again.unchanged >= 2 and again.still_unreadable >= 1 and not again.skipped
    (library / "kept").mkdir()
    shutil.move(library / "clips" / "garden.webm", library / "kept" / "garden.webm")
    moved = engine.read_videos()
    assert moved.read == 0 and moved.reused == 1 and moved.removed == 0  # moved, not removed: as photos count it
    assert best(engine, GARDEN[1]).path == str(library / "kept" / "garden.webm")
    os.unlink(library / "clips" / "holiday.mp4")
    gone = engine.read_videos()
    assert gone.removed == 1
    assert all(m.path != str(library / "clips" / "holiday.mp4") for m in engine.moments(caption(HOLIDAY[1]), k=20))


def test_folder_and_date_filters_and_a_reader_that_opens_the_index_later(engine, library, tmp_path):
    engine.read_videos()
    dated = best(engine, GARDEN[0])
    assert dated.date_taken == "2021-07-04T10:20:30"
    assert engine.moments(caption(GARDEN[0]), where=SearchFilter(date_from="2022-01-01"))[0].path != dated.path
    assert [m.path for m in engine.moments(caption(GARDEN[0]), where=SearchFilter(date_to="2021-12-31"))] == [dated.path]
    only = engine.moments(caption(HOLIDAY[0]), where=SearchFilter(folder=str(library / "clips")), k=20)
    assert only and all(m.path.startswith(str(library / "clips")) for m in only)
    reader = SearchEngine.for_reading(engine.settings)
    try:
        assert best(reader, HOLIDAY[2]).path == str(library / "clips" / "holiday.mp4")
    finally:
        reader.close()


def test_an_interrupted_pass_keeps_the_videos_it_finished(engine, library):
    calls = []
    report = engine.read_videos(should_stop=lambda: len(calls) > 0, progress=calls.append)
    assert report.interrupted and report.left >= 1 and report.read + report.skipped_count == 1
    rest = engine.read_videos()
    assert rest.read + rest.skipped_count + report.read + report.skipped_count >= 3 and not rest.interrupted


def test_without_videos_on_nothing_is_read_and_nothing_found(tmp_path, library):
    settings = Settings(index_dir=tmp_path / "plain", cache_dir=tmp_path / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    try:
        engine.index_folder(library)
        assert engine.read_videos() is None and engine.moments("a red circle") == []
        assert "videos" not in engine.info()
    finally:
        engine.close()


def test_the_command_lines_index_and_print_moments(tmp_path, library):
    index = tmp_path / "cli-index"
    dry = run_indexer(str(library), "--model", "demo", "--index", str(index), "--videos", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "videos: 4 found; would read 4 (new or changed), remove 0; 0 unchanged" in dry.stdout
    assert not (index / "videos.sqlite").exists()  # a dry run writes nothing
    done = run_indexer(str(library), "--model", "demo", "--index", str(index), "--videos", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["videos"]["read"] >= 2 and summary["videos"]["skipped_count"] >= 1
    (library / "clips" / "holiday.mp4").unlink()
    again = run_indexer("--index", str(index), "--dry-run")  # the index reads videos: a dry run says them too
    assert "would read 0 (new or changed), remove 1;" in again.stdout, again.stdout
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    search = ["search", caption(HOLIDAY[1]), "--index", str(index)]
    text = run_module("clipsearch", *search, env=env)
    assert text.returncode == 0, text.stderr
    line = next(row for row in text.stdout.splitlines() if "holiday.mp4" in row)
    assert "\tat 0:0" in line
    as_json = json.loads(run_module("clipsearch", *search, "--json", env=env).stdout)
    video = next(r for r in as_json if r.get("video"))
    assert video["path"].endswith("holiday.mp4") and 2.0 <= video["at"] < 4.0
    info = run_module("clipsearch", "info", "--index", str(index), env=env, timeout=120)
    assert "Videos:" in info.stdout and "moments" in info.stdout


def test_removing_a_folder_forgets_its_videos_too(engine, library):
    engine.read_videos()
    assert best(engine, HOLIDAY[1]).path.startswith(str(library / "clips"))
    engine.remove_folder(library / "clips")
    assert all(not m.path.startswith(str(library / "clips")) for m in engine.moments(caption(HOLIDAY[1]), k=20))
    assert engine.info()["videos"]["videos"] == 0 and engine.info()["videos"]["unreadable"] == 0


def test_moments_are_judged_beside_the_photos(tmp_path):
    """A scene only the photos show makes no moment strong; the clip's own scenes do."""
    library = tmp_path / "mixed"
    library.mkdir()
    rng = random.Random(9)
    crosses = [Scene((SceneObject("orange", "cross"),), background) for background in ("gray", "white", "black")]
    for i in range(30):
        render_scene(crosses[i % 3] if i < 12 else Scene((SceneObject("green", "star"),), "brown"), 224, rng).save(
            library / f"p{i:02d}.jpg")
    write_clip(library / "clip.mp4", HOLIDAY, seconds_each=2.0, fps=10, size=128)
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    try:
        engine.set_video_reading(True)
        engine.index_folder(library)
        engine.read_videos()
        assert any(hit.strong for hit in engine.search_text("an orange cross", k=40))
        assert not any(m.strong for m in engine.moments("an orange cross", k=5))
        assert best(engine, HOLIDAY[2]).strong and 4.0 <= best(engine, HOLIDAY[2]).at < 6.0
    finally:
        engine.close()


def test_the_page_finds_the_moments_in_its_search_embedding_the_query_once(engine, library, tmp_path):
    import gradio as gr

    from webui.handlers import Handlers
    from webui.page import Page
    from webui.videos_view import VideosView

    engine.read_videos()
    page, embedded = Page(Handlers(engine, engine.settings)), []
    real_embed = engine.encoder.embed_texts

    def counting(texts):
        embedded.extend(texts)
        return real_embed(texts)

    engine.encoder.embed_texts = counting
    out = page.search(caption(HOLIDAY[2]), None, 20, 0.0, "relevance", None, None, None, True)
    last = out[6]
    assert embedded.count(caption(HOLIDAY[2])) == 1  # once, for the photos and the moments alike
    assert last["kind"] == "query" and last["moments"][0]["path"] == str(library / "clips" / "holiday.mp4")
    assert 4.0 <= last["moments"][0]["at"] < 6.0
    panel, frames, shown, _, _ = VideosView(page.handlers).show(last, 0.0, True)
    assert panel["visible"] and frames[0][1] == "0:04 · holiday.mp4" and shown[0] == last["moments"][0]
    assert all(m["strong"] for m in shown)
    every = VideosView(page.handlers).show(last, -1.0, False)[2]  # "Strong matches only" off: the weaker too
    assert len(every) == len(last["moments"]) >= len(shown)
    assert VideosView(page.handlers).show(last, 2.0, False)[0]["visible"] is False  # above every score: hidden
    refused = page.search("", None, 20, 0.0, "relevance", None, None, None, True)
    assert refused[1] is False and refused[6] == gr.skip()  # nothing searched: the last search and its moments stay


def test_find_similar_finds_the_moments_like_a_photo_or_a_part_of_it(engine, library):
    from clipsearch.region import Region

    engine.read_videos()
    star = str(library / "photos" / "p2.jpg")  # HOLIDAY[2], rendered as a photo
    like = engine.similar_moments(star)
    assert like[0].path == str(library / "clips" / "holiday.mp4") and 4.0 <= like[0].at < 6.0 and like[0].strong
    assert engine.similar_moments(star, where=SearchFilter(folder=str(library / "photos"))) == []
    with pytest.raises(InvalidQuery, match="not in the index"):
        engine.similar_moments(str(library / "clips" / "notes.mp4"))
    part, embedded = Region(0.0, 0.0, 1.0, 1.0), []
    real_embed = engine.encoder.embed_images

    def counting(images):
        embedded.extend(images)
        return real_embed(images)

    engine.encoder.embed_images = counting
    engine.similar(star, region=part)
    by_part = engine.similar_moments(star, region=part)
    assert len(embedded) == 1  # the part is read and embedded once, for the photos and the moments alike
    assert by_part[0].path == like[0].path and by_part[0].at == like[0].at


def test_find_similar_on_the_page_shows_the_moments_like_it(engine, library):
    from webui.handlers import Handlers
    from webui.page import Page
    from webui.videos_view import VideosView

    engine.read_videos()
    page = Page(Handlers(engine, engine.settings))
    out = page.find_similar(str(library / "photos" / "p2.jpg"), 20, 0.0, "relevance", None, None, None, True)
    last = out[6]
    assert last["kind"] == "similar" and last["moments"][0]["path"] == str(library / "clips" / "holiday.mp4")
    panel, frames, _, _, _ = VideosView(page.handlers).show(last, 0.0, True)
    assert panel["visible"] and frames[0][1] == "0:04 · holiday.mp4"
    topic = page.topic(engine.topics()[0].name, 20, 0.0, "relevance", None, None, None, True)[6]
    assert "moments" not in topic and VideosView(page.handlers).show(topic, 0.0, True)[0]["visible"] is False
    name = engine.topics()[0].name  # the page's dates limit a topic's photos, and its status line says so
    status = page.topic(name, 20, 0.0, "relevance", None, "2019-01-01", None, True)[4]
    assert f"topic “{name}”, its photos from 2019-01-01" in status


def test_a_composite_query_judges_each_term_as_a_photo_search_does(engine, library):
    engine.read_videos()
    holiday, garden = str(library / "clips" / "holiday.mp4"), str(library / "clips" / "garden.webm")
    either = {m.path: m for m in engine.moments(f"{caption(HOLIDAY[2])} + {caption(GARDEN[0])}") if m.strong}
    assert set(either) == {holiday, garden}  # "a or b": each video at its own term's moment
    assert 4.0 <= either[holiday].at < 6.0 and 0.0 <= either[garden].at < 3.0
    unlike = [m for m in engine.moments("a cross - purple") if m.strong]
    assert garden not in [m.path for m in unlike]  # the one cross is purple: what the negative term names
    photos = [h.path for h in engine.search("a cross - purple") if h.strong]
    assert str(library / "photos" / "p4.jpg") not in photos  # as the photos' search of the same query


def test_a_search_no_photo_answers_but_a_moment_does_says_so(tmp_path):
    from webui.handlers import Handlers
    from webui.page import Page

    clips = tmp_path / "clips"
    clips.mkdir()
    write_clip(clips / "holiday.mp4", HOLIDAY, seconds_each=2.0, fps=10, size=128)
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    try:
        engine.set_video_reading(True)
        engine.index_folder(clips)  # a folder of videos alone: no photo
        engine.read_videos()
        page = Page(Handlers(engine, settings))
        out = page.search(caption(HOLIDAY[2]), None, 20, 0.0, "relevance", None, None, None, True)
        assert out[2] == [] and out[6]["moments"][0]["strong"]
        assert out[4].startswith("No photo matches; the moments in videos that do are below. · ")
        again = page.refilter([], 0.0, "relevance", False, out[6])
        assert again[3].startswith("No photo matches")
    finally:
        engine.close()


def test_a_video_pass_that_finds_nothing_new_loads_no_model(engine, library):
    engine.read_videos()
    settings = engine.settings
    engine.close()
    again = SearchEngine.for_writing(settings)
    try:
        report = again.read_videos()
        assert (report.read, report.unchanged) == (0, 2) and not again.encoder.loaded  # a stat a video
        write_clip(library / "clips" / "new.mp4", HOLIDAY[:1], seconds_each=2.0, fps=10, size=128)
        assert again.read_videos().read == 1 and again.encoder.loaded  # something to embed: then it loads
    finally:
        again.close()


def test_a_folder_replaced_by_a_file_keeps_its_videos_and_is_no_video_to_read(engine, library, tmp_path):
    """A covered folder that is a file now (moved away, a file left in its place) was read as a
    video of its own ("not a video"), and once the folder was back, counted among those removed."""
    engine.read_videos()
    library.rename(tmp_path / "away")
    library.write_text("not a folder")
    gone = engine.read_videos()
    assert str(library) in gone.kept and gone.videos == 0 and gone.read == 0 and not gone.skipped
    assert gone.removed == 0
    library.unlink()
    (tmp_path / "away").rename(library)
    back = engine.read_videos()
    assert back.read == 0 and back.removed == 0 and not back.skipped and not back.kept
    assert best(engine, HOLIDAY[1]).path == str(library / "clips" / "holiday.mp4")
