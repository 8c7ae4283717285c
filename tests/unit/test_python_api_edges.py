"""The Python API's edges, as a script calls it: a list of terms reused after it changed, a PIL
image with an EXIF orientation, ``k`` and the cut-off out of range, terms of the wrong types, empty
and premultiplied pictures, devices named as torch names them, and dates Python reads but we do
not document. Each was a wrong answer, a deep traceback or a misleading message."""

from __future__ import annotations

import io
import os
from datetime import date

import numpy as np
import pytest
from PIL import Image

from clipsearch import InvalidQuery, QueryTerm, Region, SearchEngine, Settings, UnreadableImage, iso_day
from clipsearch.encoders.devices import usable_device
from clipsearch.errors import DeviceUnavailable
from clipsearch.images import to_rgb
from clipsearch.region import query_picture
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import exif_rotated, photo, save, upright_marker


def paths(hits) -> list[str]:
    return [hit.path for hit in hits]


@pytest.fixture
def indexed(engine, library):
    engine.index_folder(library)
    return engine


# --- 1. a list of terms searched again after it changed ----------------------------------------
def test_a_list_of_terms_changed_since_its_last_search_is_searched_anew(indexed):
    red, blue = [QueryTerm(1.0, text="a red circle")], [QueryTerm(1.0, text="a blue square")]
    want_red, want_blue = paths(indexed.search(red, k=3)), paths(indexed.search(blue, k=3))
    assert want_red != want_blue  # else the test tells nothing
    terms = [QueryTerm(1.0, text="a red circle")]
    assert paths(indexed.search(terms, k=3)) == want_red
    terms[0] = QueryTerm(1.0, text="a blue square")
    assert paths(indexed.search(terms, k=3)) == want_blue, "a term replaced in the list: the old answer came back"
    terms.clear()
    terms.append(QueryTerm(1.0, text="a red circle"))
    assert paths(indexed.search(terms, k=3)) == want_red, "a list cleared and filled again: the old answer came back"


def test_a_picture_file_rewritten_between_two_searches_of_the_same_list_is_read_again(indexed, tmp_path, library):
    query = tmp_path / "query.jpg"
    save(photo(160, 120, seed=0), query, quality=90)
    terms = [QueryTerm(1.0, image=str(query))]
    first = indexed.search(terms, k=6)
    assert first[0].path == str(library / "a" / "p0.jpg")
    save(photo(160, 120, seed=4), tmp_path / "new.jpg", quality=90)
    os.replace(tmp_path / "new.jpg", query)  # another picture under the same name
    again = indexed.search(terms, k=6)
    assert again[0].path == str(library / "b" / "p4.jpg"), "the file was replaced: its old picture was searched"


def test_the_same_unchanged_list_is_still_embedded_once(indexed, tmp_path, library):
    """What the reuse is for: the page's two orders of one query, Find similar's moments."""
    query = save(photo(160, 120, seed=1), tmp_path / "query.jpg", quality=90)
    terms = [QueryTerm(1.0, image=str(query)), QueryTerm(-0.5, text="people")]
    before = indexed.encoder.images_embedded
    first = indexed.search(terms, k=4)
    assert indexed.search(terms, k=4, ranked=True) and indexed.encoder.images_embedded == before + 1
    assert paths(indexed.search(terms, k=4)) == paths(first) and indexed.encoder.images_embedded == before + 1


def test_the_moments_of_a_list_changed_after_the_photos_search_are_of_its_new_terms(tmp_path):
    from clipsearch.demo import Scene, SceneObject
    from clipsearch.demo.clips import write_clip

    class Counting(FakeEncoder):
        texts: list[str] = []

        def embed_texts(self, texts):
            Counting.texts.extend(texts)
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
        terms = [QueryTerm(1.0, text="a red circle")]
        engine.search(terms)
        terms[0] = QueryTerm(1.0, text="a green triangle")
        Counting.texts.clear()
        engine.moments(terms)
        assert Counting.texts == ["a green triangle"], "the moments of the list's old terms were given"
    finally:
        engine.close()


# --- 3. a PIL image with an EXIF orientation ---------------------------------------------------
@pytest.mark.parametrize("orientation", [6, 3, 8])
def test_a_pil_image_is_searched_upright_and_its_region_cut_from_the_upright_picture(tmp_path, orientation):
    stored = exif_rotated(upright_marker(120, 80), orientation, tmp_path / "turned.jpg")
    with Image.open(stored) as opened:
        whole = query_picture(opened, None, None)
        corner = query_picture(opened, Region(0.8, 0, 1, 0.25), None)
        quarter = query_picture(opened, Region(0, 0, 0.5, 0.5), None)
    assert whole.size == (120, 80), "the picture was searched as stored, sideways"
    assert whole.getpixel((5, 5))[0] > 200 and whole.getpixel((5, 5))[2] < 60  # red top left, as a viewer shows it
    red, yellow = np.asarray(quarter, np.float32).mean(axis=(0, 1)), np.asarray(corner, np.float32).mean(axis=(0, 1))
    assert red[0] > 200 and red[1] < 60 and red[2] < 60, "the region was cut from the picture as stored"
    assert yellow[0] > 200 and yellow[1] > 200 and yellow[2] < 60
    assert query_picture(stored, None, None).size == whole.size  # as its path reads it


def test_search_image_with_a_turned_pil_image_finds_it_as_its_path_does(engine, tmp_path):
    folder = tmp_path / "photos"
    save(upright_marker(160, 120), folder / "upright.jpg", quality=95)
    for seed in range(4):
        save(photo(160, 120, seed=seed), folder / f"p{seed}.jpg", quality=90)
    engine.index_folder(folder)
    turned = exif_rotated(upright_marker(160, 120), 6, tmp_path / "turned.jpg")
    with Image.open(turned) as opened:
        hits = engine.search_image(opened, k=5, cutoff=None)
    assert hits[0].path == str(folder / "upright.jpg") and hits[0].score > 0.99


# --- 4. k and the cut-off ---------------------------------------------------------------------
@pytest.mark.parametrize("k", [-1, -5])
def test_a_negative_k_is_refused(indexed, library, k):
    with pytest.raises(InvalidQuery, match=f"k is a number of results, 0 or more, not {k}"):
        indexed.search_text("a red circle", k=k)
    with pytest.raises(InvalidQuery, match="0 or more"):
        indexed.similar(library / "a" / "p0.jpg", k=k)
    with pytest.raises(InvalidQuery, match="0 or more"):
        indexed.search_image(library / "a" / "p0.jpg", k=k)


@pytest.mark.parametrize("k", [1.5, "5", None])
def test_a_k_that_is_no_whole_number_is_a_type_error_that_says_so(indexed, library, k):
    with pytest.raises(TypeError, match=f"k is a whole number of results, not {k!r}"):
        indexed.search_text("a red circle", k=k)
    with pytest.raises(TypeError, match="k is a whole number of results"):
        indexed.similar(library / "a" / "p0.jpg", k=k)


def test_k_zero_is_no_result_and_a_numpy_integer_is_a_number(indexed):
    assert indexed.search_text("a red circle", k=0) == []
    assert len(indexed.search_text("a red circle", k=np.int64(2))) == 2


@pytest.mark.parametrize("cutoff", [float("nan"), float("inf"), -float("inf")])
def test_a_cutoff_that_is_no_finite_number_is_refused(indexed, library, cutoff):
    with pytest.raises(InvalidQuery, match="the cut-off is 'auto', a number or none"):
        indexed.search_text("a red circle", k=3, cutoff=cutoff)
    with pytest.raises(InvalidQuery, match="the cut-off is 'auto', a number or none"):
        indexed.similar(library / "a" / "p0.jpg", k=3, cutoff=cutoff)


# --- 5. terms of the wrong types -----------------------------------------------------------------
@pytest.mark.parametrize("run", [lambda e: e.search_image(None), lambda e: e.search([QueryTerm(1.0)])])
def test_a_term_with_nothing_in_it_says_so_not_that_terms_cancel_out(indexed, run):
    with pytest.raises(InvalidQuery, match="nothing to search for: a query term needs a text or a picture"):
        run(indexed)


def test_a_query_that_is_no_text_is_a_type_error_that_says_so(indexed):
    with pytest.raises(TypeError, match="a query is text, not int"):
        indexed.search_text(5)


@pytest.mark.parametrize("picture", [np.zeros((32, 32, 3), np.uint8), io.BytesIO(b"x"), memoryview(b"x"), 5])
def test_a_picture_of_another_type_names_the_types_taken(indexed, picture):
    with pytest.raises(TypeError, match="a picture to search with is a PIL image, a path or the file's bytes, not "
                                        f"{type(picture).__name__}"):
        indexed.search_image(picture)


def test_a_region_given_as_text_is_read_as_parse_region_reads_it(indexed, library):
    photo_path = library / "a" / "p0.jpg"
    by_text = indexed.search_image(photo_path, k=3, region="0,0,0.5,0.5")
    assert paths(by_text) == paths(indexed.search_image(photo_path, k=3, region=Region(0, 0, 0.5, 0.5)))
    assert paths(indexed.similar(photo_path, k=3, region="0,0,0.5,0.5")) == paths(
        indexed.similar(photo_path, k=3, region=Region(0, 0, 0.5, 0.5)))
    with pytest.raises(InvalidQuery, match="not a region"):
        indexed.search_image(photo_path, region="left half")
    with pytest.raises(TypeError, match="a region is a Region"):
        indexed.search([QueryTerm(1.0, image=str(photo_path), region=(0, 0, 0.5, 0.5))])


def test_a_pixel_region_of_numbers_up_to_1_is_not_said_to_have_one_over_1():
    with pytest.raises(InvalidQuery) as refused:
        Region(0, 0, 1, 1, pixels=True).box(640, 480)
    assert "too small to search with" in str(refused.value) and "a number is over 1" not in str(refused.value)
    with pytest.raises(InvalidQuery, match="read as pixels, as a number is over 1"):
        Region(0.5, 0.5, 1.2, 0.9, pixels=True).box(640, 480)


# --- 6. empty and premultiplied pictures ------------------------------------------------------
@pytest.mark.parametrize("size", [(0, 0), (0, 64), (64, 0)])
def test_an_empty_pil_image_is_an_unreadable_picture(indexed, size):
    with pytest.raises(UnreadableImage, match="an empty picture"):
        indexed.search_image(Image.new("RGB", size))


def test_a_premultiplied_grey_picture_is_flattened_as_its_plain_twin():
    plain = Image.new("LA", (64, 64), (200, 128))
    assert to_rgb(plain.convert("La")).getpixel((0, 0)) == to_rgb(plain).getpixel((0, 0)) == (227, 227, 227)


def test_a_premultiplied_grey_picture_can_be_searched_with(indexed):
    assert len(indexed.search_image(Image.new("La", (64, 64)), k=2)) == 2


# --- 7. devices named as torch names them -------------------------------------------------------
def test_a_cuda_device_by_number_on_a_machine_without_cuda_says_so(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "init", lambda: (_ for _ in ()).throw(RuntimeError("Found no NVIDIA driver")))
    with pytest.raises(DeviceUnavailable, match='device "cuda:0" asked for, but no CUDA GPU can run the model here: '
                                                "Found no NVIDIA driver"):
        usable_device("cuda:0")


def test_a_cuda_device_past_the_machine_s_gpus_says_how_many_there_are(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(DeviceUnavailable, match="this machine has 2 CUDA GPUs, cuda:0 to cuda:1"):
        usable_device("cuda:2")
    assert usable_device("cuda:1") == "cuda:1"


@pytest.mark.parametrize("name", ["bogus", "meta", "cuda:x", "cpu:1", ""])
def test_a_name_that_is_no_device_names_those_there_are(name):
    with pytest.raises(DeviceUnavailable, match=f"device {name!r} is not one the model runs on: give cpu, cuda"):
        usable_device(name)


def test_the_cpu_is_the_cpu_however_spelled():
    assert usable_device("CPU") == usable_device(" cpu ") == usable_device("cpu:0") == "cpu"


# --- 8. dates Python reads but the filters do not document --------------------------------------
@pytest.mark.parametrize("value", ["2019-W07", "2019W07", "2019-W07-1", "20190214"])
def test_week_dates_and_dates_without_dashes_are_refused(value):
    with pytest.raises(ValueError, match=f"{value!r} is not a date like 2024-07-31"):
        iso_day(value)


def test_the_documented_dates_still_read():
    assert [iso_day("2019-02-14"), iso_day("2019"), iso_day("2019-02", end=True), iso_day(date(2019, 2, 14))] == [
        "2019-02-14", "2019-01-01", "2019-02-28", "2019-02-14"]
