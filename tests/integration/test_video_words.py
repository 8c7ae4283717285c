"""The words in videos' moments (``--videos`` with ``--ocr``): real OCR (RapidOCR's bundled models)
on the frames of a rendered clip, searched as the words in photos are."""

from __future__ import annotations

import random
import shutil

import pytest

from clipsearch import ModelSpec, SearchEngine, Settings
from clipsearch.demo import Scene, SceneObject
from clipsearch.demo.clips import write_clip
from clipsearch.demo.textrender import render_text_photo
from clipsearch.videoindex import VideoIndex

SIGN = ["walnut", "violin"]
SHOTS = [Scene((SceneObject("red", "circle"),), "gray"), None, Scene((SceneObject("blue", "square"),), "white")]


@pytest.fixture(scope="module")
def street(tmp_path_factory):
    """The clip, its middle shot a sign saying the words: rendered and encoded once per module."""
    picture, placed = render_text_photo(SIGN, random.Random(3), size=(960, 720))
    assert {w.word for w in placed.words} == set(SIGN)  # both words drawn
    clip = tmp_path_factory.mktemp("street") / "street.mp4"
    write_clip(clip, [picture if s is None else s for s in SHOTS], seconds_each=2.0, fps=5, size=(960, 720))
    return clip


@pytest.fixture
def engine(tmp_path, street):
    clips = tmp_path / "library" / "clips"
    clips.mkdir(parents=True)
    shutil.copy(street, clips / "street.mp4")  # a test's own copy (the same bytes): one test deletes it
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    engine.set_video_reading(True)
    engine.index_folder(tmp_path / "library")
    yield engine
    engine.close()


def test_a_moments_words_are_read_and_found_as_a_photos_are(engine, tmp_path):
    assert engine.read_videos().words is None  # the words are read only where the index reads them
    engine.set_text_reading(True)
    report = engine.read_videos()
    assert report.read == 0 and (report.words.videos, report.words.moments) == (1, 3)  # the moments read again
    assert report.words.said >= 1
    found = engine.moments("walnut")
    assert found[0].path.endswith("street.mp4") and 2.0 <= found[0].at < 4.0 and found[0].strong
    assert "[WALNUT]" in found[0].words.upper()
    assert "words" in found[0].to_dict() and engine.moments("waln")[0].at == found[0].at  # a word's beginning
    assert engine.moments("a red circle")[0].words is None  # CLIP's answer: no words asked for
    again = engine.read_videos()
    assert again.words.moments == 0  # read once
    counts = engine.info()["videos"]
    assert counts["moments_with_words"] >= 1
    engine.set_text_reading(False)
    assert engine.moments("walnut")[0].words is None  # --no-ocr: the words are not used (kept)


def test_the_words_go_with_their_moments(engine, tmp_path):
    engine.set_text_reading(True)
    engine.read_videos()
    store = VideoIndex.open(tmp_path / "index")
    try:
        assert store.moments_saying('"walnut"')
        (tmp_path / "library" / "clips" / "street.mp4").unlink()
        engine.read_videos()
        assert store.moments_saying('"walnut"') == {} and store.words_pending({"reader": "x"}) == []
    finally:
        store.close()


def test_the_fronts_say_the_words(engine, tmp_path, capsys):
    import cli.search
    from indexer.videoreport import format_video_report
    from webui.markdown import info_markdown
    from webui.videos_view import moment_markdown

    engine.set_text_reading(True)
    report = engine.read_videos()
    assert "; words read in 3 moments of 1 video (1 says something)" in format_video_report(report)
    moment = engine.moments("walnut")[0].to_dict()
    assert "**Says:** " in moment_markdown(moment) and "**WALNUT**" in moment_markdown(moment).upper()
    assert "with words)" in info_markdown(engine.info())
    assert cli.search.main(["search", "walnut", "--index", str(engine.settings.index_dir)]) == 0
    printed = capsys.readouterr().out
    assert "street.mp4\tat 0:02" in printed and "[WALNUT]" in printed.upper()
    assert cli.search.main(["info", "--index", str(engine.settings.index_dir)]) == 0
    assert "with words)" in capsys.readouterr().out


def test_a_moment_that_says_the_words_stays_under_any_flat_cut_off_on_the_page_and_over_rest(engine):
    from webui.textui import keeps
    from webui.videos_view import VideosView

    engine.set_text_reading(True)
    engine.read_videos()
    said = engine.moments("walnut")[0].to_dict()
    assert said["words"]
    low = {**said, "score": -0.3, "strong": True}  # a sign CLIP does not see: found by what it says
    weak = {**said, "path": "/other.mp4", "words": None, "score": 0.05, "strong": False}
    assert keeps(low, 0.1) and not keeps(weak, 0.1)  # REST's flat min_score and the page's slider
    view = VideosView(type("H", (), {"thumbs": type("T", (), {"get_moment": lambda *a: "/f.jpg"})()})())
    for cut in (0.0, 0.2):
        panel, _, shown, _, _ = view.show({"moments": [low, weak]}, cut, strong_only=False)
        assert low in shown  # "0 shows all" (its score is below 0), and a flat cut keeps it


def test_a_video_whose_frames_cannot_be_read_again_is_reported_once(engine, tmp_path, monkeypatch):
    from clipsearch import video_frames
    from clipsearch.errors import UnreadableImage

    def broken(path, *args, **kwargs):
        raise UnreadableImage(path, "corrupt video", "damaged since")
        yield  # a generator, as frames_at is

    monkeypatch.setattr(video_frames, "frames_at", broken)
    engine.set_text_reading(True)
    first = engine.read_videos().words
    assert first.skipped == {"corrupt video": [str(tmp_path / "library" / "clips" / "street.mp4")]}
    assert first.moments == 0 and engine.read_videos().words.skipped == {}  # not tried again until it changes


def test_the_pages_status_says_when_only_a_moment_matches():
    from webui.page import _videos_said

    said = {"moments": [{"strong": True}]}
    weaker = "No strong match · 5 weaker results hidden: untick “Strong matches only” to see them · “walnut” · 16 ms"
    assert _videos_said(weaker, [{"path": "/p.jpg"}], said) == (
        "No photo is a strong match; the moments in videos that are, below · 5 weaker results hidden: untick "
        "“Strong matches only” to see them · “walnut” · 16 ms")
    assert _videos_said("No results. · “walnut” · 9 ms", [], said).startswith("No photo matches; the moments")
    assert _videos_said(weaker, [{"path": "/p.jpg"}], {"moments": [{"strong": False}]}) == weaker  # none strong
    assert _videos_said("3 strong matches · “walnut” · 9 ms", [{}], said) == "3 strong matches · “walnut” · 9 ms"


def test_a_reader_that_fails_on_a_frame_skips_the_video_with_its_reason(engine, monkeypatch):
    from clipsearch.ocr import TextReader

    def fails(self, image):
        raise RuntimeError("onnxruntime: bad input")

    monkeypatch.setattr(TextReader, "read", fails)
    engine.set_text_reading(True)
    words = engine.read_videos().words
    assert list(words.skipped) == ["ocr error"] and words.moments == 0  # the pass goes on; no crash


def test_a_dry_run_says_how_many_moments_words_a_pass_would_read(engine):
    from indexer.videoreport import format_video_report

    engine.read_videos()
    engine.set_text_reading(True)
    dry = engine.read_videos(dry_run=True)
    assert (dry.words.videos, dry.words.moments) == (1, 3)
    assert "; would read the words in 3 moments of 1 video already read" in format_video_report(dry)
    assert engine.moments("walnut")[0].words is None  # nothing was read
    engine.read_videos()
    assert engine.read_videos(dry_run=True).words.moments == 0
