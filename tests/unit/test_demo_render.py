"""The synthetic picture renderer and sample library (no torch needed)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from PIL import Image

from clipsearch.demo import (
    BACKGROUNDS,
    COLOURS,
    SHAPES,
    Scene,
    SceneObject,
    make_sample_library,
    random_scene,
    render_scene,
)


def test_same_seed_same_scenes_and_pixels() -> None:
    def draw(seed: int) -> list[tuple[Scene, bytes]]:
        rng = random.Random(seed)
        return [
            (scene, render_scene(scene, 48, rng).tobytes())
            for scene in (random_scene(rng) for _ in range(10))
        ]

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


def test_render_is_rgb_at_the_requested_size() -> None:
    image = render_scene(Scene((SceneObject("red", "star"),), "gray"), 80, random.Random(0))
    assert image.mode == "RGB"
    assert image.size == (80, 80)


def test_single_object_captions() -> None:
    scene = Scene((SceneObject("red", "circle"),), "black")
    assert scene.caption == "a red circle on a black background"
    assert sorted(scene.captions()) == [
        "a red circle",
        "a red circle on a black background",
    ]


def test_two_object_captions_name_either_order_and_each_object() -> None:
    scene = Scene((SceneObject("blue", "star"), SceneObject("orange", "square")), "white")
    assert scene.caption == "a blue star and an orange square on a white background"
    assert set(scene.captions()) == {
        "a blue star and an orange square on a white background",
        "an orange square and a blue star on a white background",
        "a blue star and an orange square",
        "an orange square and a blue star",
        "a blue star on a white background",
        "an orange square on a white background",
        "a blue star",
        "an orange square",
    }


def test_random_scenes_are_valid() -> None:
    rng = random.Random(0)
    scenes = [random_scene(rng) for _ in range(2000)]
    assert {len(s.objects) for s in scenes} == {1, 2}
    assert {s.background for s in scenes} == set(BACKGROUNDS)
    assert {o.colour for s in scenes for o in s.objects} == set(COLOURS)
    assert {o.shape for s in scenes for o in s.objects} == set(SHAPES)
    for scene in scenes:
        assert len(set(scene.objects)) == len(scene.objects)
        assert all(o.colour != scene.background for o in scene.objects)
    assert all(len(random_scene(rng, n_objects=2).objects) == 2 for _ in range(20))


def test_object_is_visible_on_its_background() -> None:
    scene = Scene((SceneObject("black", "square"),), "brown")
    pixels = np.asarray(render_scene(scene, 64, random.Random(3))).astype(int)
    corner = pixels[0, 0]
    differs = np.abs(pixels - corner).sum(axis=2) > 60
    assert differs.mean() > 0.03  # the square covers a visible part of the picture


def test_random_scene_rejects_bad_counts() -> None:
    with pytest.raises(ValueError):
        random_scene(random.Random(0), n_objects=3)


def test_sample_library(tmp_path) -> None:
    made = make_sample_library(tmp_path / "lib", n=40, seed=1)
    root = tmp_path / "lib"
    assert len(made) == 40
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert files == sorted(path for path, _ in made)
    assert {p.suffix for p in files} == {".jpg", ".png", ".webp"}
    assert any(len(p.relative_to(root).parts) >= 4 for p in files)  # e.g. misc/deep/er/img_0001.jpg
    assert all(p.stem.startswith("img_") for p in files)

    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["count"] == 40
    for path, scene in made:
        entry = manifest["images"][path.relative_to(root).as_posix()]
        assert entry["caption"] == scene.caption
        assert entry["objects"] == [{"colour": o.colour, "shape": o.shape} for o in scene.objects]
        with Image.open(path) as image:
            assert list(image.size) == entry["size"]
            assert image.format == entry["format"]
    sizes = {tuple(entry["size"]) for entry in manifest["images"].values()}
    assert any(w != h for w, h in sizes)


def test_sample_library_is_deterministic(tmp_path) -> None:
    first = make_sample_library(tmp_path / "a", n=12, seed=5)
    second = make_sample_library(tmp_path / "b", n=12, seed=5)
    assert [(p.relative_to(tmp_path / "a"), s) for p, s in first] == [
        (p.relative_to(tmp_path / "b"), s) for p, s in second
    ]
    for (a, _), (b, _) in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_make_library_command(tmp_path, capsys) -> None:
    from clipsearch.demo.__main__ import main

    assert main(["make-library", str(tmp_path / "lib"), "--n", "3", "--seed", "2"]) == 0
    assert json.loads((tmp_path / "lib" / "manifest.json").read_text())["count"] == 3
    assert str(tmp_path / "lib") in capsys.readouterr().out
    assert main(["make-library", str(tmp_path / "short"), "-n", "2"]) == 0  # -n, as a newcomer types it
    assert json.loads((tmp_path / "short" / "manifest.json").read_text())["count"] == 2


def test_make_library_with_signs_writes_photos_with_words_once(tmp_path, capsys) -> None:
    from clipsearch.demo.__main__ import main
    from clipsearch.demo.textrender import load_manifest

    args = ["make-library", str(tmp_path / "lib"), "--n", "3", "--signs", "2"]
    assert main(args) == 0
    signs = tmp_path / "lib" / "signs"
    words = [w.word for photo in load_manifest(signs) for w in photo.words]
    assert len(load_manifest(signs)) == 2 and words and f"their words: {words[0]}" in capsys.readouterr().out
    stamps = {p.name: p.stat().st_mtime_ns for p in signs.iterdir()}
    assert main(args) == 0 and {p.name: p.stat().st_mtime_ns for p in signs.iterdir()} == stamps  # left alone
    assert main([*args[:-1], "3"]) == 0 and len(load_manifest(signs)) == 3  # another number: written anew
    with pytest.raises(SystemExit) as refused:
        main(["make-library", str(tmp_path / "lib"), "--signs", "-1"])
    assert refused.value.code == 2 and "argument --signs: a number, 0 or more, not -1" in capsys.readouterr().err


def test_sample_pictures_carry_exif_dates_that_fit_their_folders(tmp_path) -> None:
    from clipsearch.images import load_image

    root = tmp_path / "lib"
    made = make_sample_library(root, n=90, seed=0)
    manifest = json.loads((root / "manifest.json").read_text())["images"]
    years = set()
    for path, _ in made:
        relative = path.relative_to(root)
        taken = load_image(path).date_taken  # what the indexer reads: EXIF DateTimeOriginal
        assert taken == manifest[relative.as_posix()]["date_taken"]
        folder = relative.parent.as_posix()
        expected_year = {"2019/summer": "2019", "2019/winter": "2019", "2020": "2020"}.get(folder)
        if expected_year:
            assert taken.startswith(expected_year), (relative, taken)
        if folder == "2019/summer":
            assert taken[5:7] in ("06", "07", "08"), (relative, taken)
        if folder == "holidays/beach":
            assert taken[5:7] in ("07", "08"), (relative, taken)
        assert "08:00:00" <= taken[11:] <= "19:59:59"
        years.add(taken[:4])
    assert len(years) >= 5, years  # several years, so that date filters and date sort mean something


def test_making_the_library_again_writes_nothing_and_mends_what_changed(tmp_path) -> None:
    root = tmp_path / "lib"
    first = make_sample_library(root, n=12, seed=3)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}

    assert make_sample_library(root, n=12, seed=3) == first
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files} == before  # not one file rewritten

    damaged, untouched = first[0][0], first[1][0]
    damaged.write_bytes(b"not a picture any more")
    assert make_sample_library(root, n=12, seed=3) == first
    assert damaged.read_bytes() == before[damaged][1]  # restored
    assert untouched.stat().st_mtime_ns == before[untouched][0]  # and only it was written

    make_sample_library(root, n=13, seed=3)  # another library in the same folder: written over
    assert json.loads((root / "manifest.json").read_text())["count"] == 13
    assert untouched.stat().st_mtime_ns == before[untouched][0]  # same picture, same bytes: kept
