"""Near-duplicates: pixel signatures, the kNN self-join, star groups, folding (no model)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

from clipsearch import file_links
from clipsearch.demo import random_scene, render_scene
from clipsearch.demo.near_copies import (
    ELSEWHERE,
    burst_frame,
    centroid,
    cropped_brighter,
    on_another_background,
    resized_copy,
)
from clipsearch.duplicates import (
    BURST,
    SAME_SHOT,
    DuplicateProgress,
    Evidence,
    best_first,
    find_duplicates,
    fold,
    group_stars,
    self_join,
)
from clipsearch.encoders.base import normalize
from clipsearch.pixels import (
    PATTERN_DIM,
    SignatureCache,
    same_light,
    signature,
    signature_of_file,
    signatures_for,
    similarity,
)
from clipsearch.stores import ImageRecord, WriteBatch, open_store

DIM = 16
STAMP = {"model": "fake", "pretrained": None, "dim": DIM, "image_size": 32, "preprocess": {}}


def rec(path: str, w: int = 640, h: int = 480, size: int = 1000, date: str | None = None, fp: str | None = None):
    return ImageRecord(path, size, 1_600_000_000 * 10**9, fp or f"fp-{path}", w, h, date)


def scene_picture(seed: int, side: int = 320) -> Image.Image:
    rng = random.Random(seed)
    return render_scene(random_scene(rng, 1), side, rng)


def sim(a: Image.Image, b: Image.Image) -> float:
    return similarity(signature(a), signature(b))


# --- pixel signatures -------------------------------------------------------------------------
def test_signature_is_a_unit_pattern_and_the_light_and_flat_pictures_have_no_pattern():
    assert np.linalg.norm(signature(scene_picture(1))[:PATTERN_DIM]) == pytest.approx(1.0, abs=1e-5)
    flat = signature(Image.new("RGB", (50, 40), (200, 10, 10)))
    assert not np.any(flat[:PATTERN_DIM])
    assert flat[PATTERN_DIM:] == pytest.approx([220 / 3 / 255, 95 / 255, 47.5 / 255], abs=2e-3)  # its mean, opponent


def test_the_same_shapes_in_the_same_places_on_another_background_are_another_picture():
    # The demo library's own case: an orange ball on black, then on brown. Each channel's
    # contrast scales, so the patterns alone correlate at 0.94-1.00; the light tells them apart.
    apart = 0
    for seed in range(12):
        rng = random.Random(seed)
        scene = random_scene(rng)
        state = rng.getstate()
        original = render_scene(scene, 320, rng)
        other = on_another_background(scene, 320, state, random.Random(seed))
        if other is None:
            continue
        a, b = signature(original), signature(other)
        assert float(a[:PATTERN_DIM] @ b[:PATTERN_DIM]) != pytest.approx(0.0, abs=1e-3)
        assert similarity(a, b) < BURST.min_pixels
        apart += float(a[:PATTERN_DIM] @ b[:PATTERN_DIM]) >= SAME_SHOT.min_pixels  # the pattern alone would group it
    assert apart >= 2


def test_one_exposure_apart_is_a_gain_of_a_third_at_most_without_a_new_tint():
    grey = np.array([0.5, 0.0, 0.0])
    warm = np.array([0.5, 0.06, 0.02])
    assert same_light(grey, grey * 1.3) and same_light(grey * 1.3, grey)
    assert not same_light(grey, grey * 1.4)
    assert not same_light(grey, warm)  # the same brightness, another colour
    assert same_light(np.array([0.01, 0.0, 0.01]), np.array([0.02, 0.01, 0.0]))  # near black: no colour
    assert not same_light(np.array([0.01, 0.0, 0.0]), grey)
    assert not same_light(np.array([0.001, 0.3, 0.0]), np.array([0.001, -0.3, 0.0]))  # opposite colours


def test_edited_copies_keep_their_signature_and_the_same_shape_elsewhere_does_not():
    rng = random.Random(3)
    elsewhere = 0
    for seed in range(8):
        original = scene_picture(seed)
        assert sim(original, resized_copy(original)) >= SAME_SHOT.min_pixels + 0.03
        assert sim(original, cropped_brighter(original, rng)) >= SAME_SHOT.min_pixels
        mirrored = original.transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # the shape on the other side
        if np.linalg.norm(centroid(mirrored) - centroid(original)) >= ELSEWHERE:  # not near the centre
            assert sim(original, mirrored) < BURST.min_pixels
            elsewhere += 1
    assert elsewhere >= 3


def test_colour_counts_where_grey_levels_agree():
    # Red on brown has the brightness of brown alone: a grey-level hash sees a flat picture.
    left = Image.new("RGB", (200, 200), (120, 80, 45))
    left.paste((220, 30, 30), (20, 70, 80, 130))
    right = Image.new("RGB", (200, 200), (120, 80, 45))
    right.paste((220, 30, 30), (120, 70, 180, 130))
    assert sim(left, right) < BURST.min_pixels


def test_burst_frames_pass_the_loose_level():
    rng = random.Random(5)
    original = scene_picture(11)
    assert sim(original, burst_frame(original, 1, rng)) >= BURST.min_pixels


def test_signatures_for_uses_the_cache_and_skips_unreadable_files(tmp_path):
    good = tmp_path / "a.png"
    scene_picture(2).save(good)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    cache = SignatureCache(tmp_path)
    got = signatures_for([(str(good), "fp-a"), (str(tmp_path / "bad.png"), "fp-bad")], cache)
    assert set(got) == {str(good)}
    good.unlink()  # from now on only the cache knows it, by fingerprint
    again = signatures_for([(str(tmp_path / "moved.png"), "fp-a")], SignatureCache(tmp_path))
    assert np.allclose(again[str(tmp_path / "moved.png")], got[str(good)], atol=1e-3)


def test_the_release_befores_cache_is_left_to_it_and_its_patterns_not_read(tmp_path):
    import sqlite3

    old = sqlite3.connect(tmp_path / "pixels.sqlite")  # patterns alone, as the release before kept them
    old.execute("CREATE TABLE signatures (fingerprint TEXT PRIMARY KEY, value BLOB NOT NULL)")
    old.execute("INSERT INTO signatures VALUES ('fp-a', ?)", (np.ones(PATTERN_DIM, np.float16).tobytes(),))
    old.commit()
    cache = SignatureCache(tmp_path)
    assert cache.get_many(["fp-a"]) == {}
    cache.put_many({"fp-a": signature(scene_picture(2))})
    cache.close()
    assert len(SignatureCache(tmp_path).get_many(["fp-a"])["fp-a"]) == PATTERN_DIM + 3
    assert old.execute("SELECT length(value) FROM signatures").fetchall() == [(2 * PATTERN_DIM,)]
    old.close()


def test_signature_cache_in_a_missing_folder_lives_in_memory(tmp_path):
    cache = SignatureCache(tmp_path / "nope")
    cache.put_many({"x": np.ones(3, np.float32)})
    assert list(cache.get_many(["x", "y"])) == ["x"]
    assert not (tmp_path / "nope").exists()


def test_signature_of_an_exif_rotated_file_is_upright(tmp_path):
    from testsupport.imagefactory import exif_rotated

    upright = scene_picture(4, 240).resize((240, 160))
    path = exif_rotated(upright, 6, tmp_path / "r.jpg")
    assert float(signature_of_file(str(path)) @ signature(upright)) > 0.98


# --- the self-join ----------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "idx", STAMP, create=True)
    yield s
    s.close()


def test_graph_self_join_agrees_with_one_search_per_vector(store):
    vectors = normalize(np.random.default_rng(0).standard_normal((300, DIM)))
    store.write(WriteBatch(put=[(rec(f"/p/{i:03d}.jpg"), v) for i, v in enumerate(vectors)]))
    store.write(WriteBatch(delete=["/p/007.jpg"]))
    ticks = []
    records, rows_of, sims = store.neighbours(5, chunk=64, progress=lambda d, t: ticks.append((d, t)))
    assert len(records) == 299 and ticks[-1] == (299, 299) and len(ticks) == 5
    paths = [r.path for r in records]
    for i in range(0, 299, 37):
        expected = [(h.path, s) for h, s in store.search(store.vector(paths[i]), 6) if h.path != paths[i]][:5]
        assert [paths[j] for j in rows_of[i]] == [p for p, _ in expected]
        assert np.allclose(sims[i], [s for _, s in expected], atol=1e-5)
    assert "/p/007.jpg" not in paths and (rows_of >= 0).all()


class SearchOnly:
    """A store with only the protocol's methods: the self-join falls back to one search each."""

    def __init__(self, inner):
        self.records, self.vector, self.search = inner.records, inner.vector, inner.search


def test_self_join_without_a_graph_method_gives_the_same_neighbours(store):
    vectors = normalize(np.random.default_rng(1).standard_normal((60, DIM)))
    store.write(WriteBatch(put=[(rec(f"/p/{i:03d}.jpg"), v) for i, v in enumerate(vectors)]))
    fast = self_join(store, 4)
    slow = self_join(SearchOnly(store), 4)
    assert [r.path for r in fast[0]] == [r.path for r in slow[0]]
    assert (fast[1] == slow[1]).all()


def test_self_join_of_an_empty_or_single_store(store):
    records, rows_of, _ = self_join(store, 4)
    assert records == [] and rows_of.shape == (0, 4)
    store.write(WriteBatch(put=[(rec("/p/a.jpg"), normalize(np.ones((1, DIM)))[0])]))
    records, rows_of, _ = self_join(store, 4)
    assert len(records) == 1 and (rows_of == -1).all()


# --- groups -----------------------------------------------------------------------------------
def test_best_first_is_largest_then_oldest_then_heaviest():
    small = rec("/a", 320, 240, 5000, date="2001-01-01T00:00:00")
    big_new = rec("/b", 640, 480, 900, date="2024-01-01T00:00:00")
    big_old = rec("/c", 640, 480, 900, date="2019-01-01T00:00:00")
    big_new_heavy = rec("/d", 640, 480, 2000, date="2024-01-01T00:00:00")
    order = sorted([small, big_new, big_old, big_new_heavy], key=best_first)
    assert order == [big_old, big_new_heavy, big_new, small]


def test_best_first_keeps_a_file_without_loss_before_a_jpeg_of_the_same_pixels():
    """A rendered PNG and its JPEG copy stored rotated (the same pixels, the same second): the JPEG
    weighs more, and "then most bytes" made it the copy to keep. Loss now counts before bytes; the
    pixels and the date still come first."""
    when = "2024-01-01T00:00:00"
    png, jpeg = rec("/p.png", size=7_000, date=when), rec("/p_rot.jpg", size=13_000, date=when)
    raw, heic = rec("/IMG_1.DNG", size=9_000, date=when), rec("/IMG_1.HEIC", size=20_000, date=when)
    assert sorted([jpeg, png], key=best_first) == [png, jpeg]
    assert sorted([heic, raw], key=best_first) == [raw, heic]
    bigger, older = rec("/big.jpg", 1280, 960, date=when), rec("/old.jpg", size=100, date="2019-01-01T00:00:00")
    assert sorted([png, bigger, older], key=best_first) == [bigger, older, png]  # pixels, then date, first


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, np.float32)
    return v / np.linalg.norm(v)


def pixels_sig(*values: float, light: tuple[float, float, float] = (0.5, 0.0, 0.0)) -> np.ndarray:
    """A pixel signature whose pattern is ``values`` (normalized, the rest zeros), in ``light``."""
    pattern = np.zeros(PATTERN_DIM, np.float32)
    pattern[: len(values)] = values
    return np.concatenate([pattern / np.linalg.norm(pattern), np.asarray(light, np.float32)])


def test_stars_never_chain_look_alikes_into_one_group():
    # a ~ b and b ~ c at the strict level, but a and c differ: two groups, not one chain.
    records = [rec("/a", 800, 600), rec("/b", 640, 480), rec("/c", 400, 300)]
    sig = {"/a": pixels_sig(1, 0, 0), "/b": pixels_sig(1, 0.3, 0), "/c": pixels_sig(1, 0.62, 0)}
    edges = {(0, 1): 0.96, (1, 2): 0.96}
    groups = group_stars(records, edges, Evidence(sig), SAME_SHOT)
    assert [g.paths for g in groups] == [["/a", "/b"]]


def test_burst_mode_labels_groups_that_are_not_one_shot():
    records = [rec("/a"), rec("/b", 600, 450), rec("/c", 400, 300), rec("/d", 300, 225)]
    sig = {"/a": pixels_sig(1, 0, 0), "/b": pixels_sig(1, 0.1, 0), "/c": pixels_sig(1, 0.5, 0), "/d": pixels_sig(0, 0, 1)}
    groups = group_stars(records, {(0, 1): 0.99, (0, 2): 0.9}, Evidence(sig), BURST, bursts=True)
    assert len(groups) == 1 and groups[0].kind == "burst" and groups[0].paths == ["/a", "/b", "/c"]
    data = groups[0].to_dict()
    assert data["paths"] == ["/a", "/b", "/c"] and data["photos"][1]["width"] == 600
    # One shot's pixels but another shape (an eighth of the width cropped) is not one shot either.
    records = [rec("/a", 800, 600), rec("/b", 700, 600)]
    groups = group_stars(records, {(0, 1): 0.99}, Evidence({"/a": pixels_sig(1, 0), "/b": pixels_sig(1, 0.05)}), BURST,
                         bursts=True)
    assert [(g.kind, g.paths) for g in groups] == [("burst", ["/a", "/b"])]
    assert set(data["photos"][0]) >= {"path", "size", "width", "height", "date_taken", "modified"}


def test_bursts_keep_every_group_of_the_default_level_whole():
    # b ~ c are one shot; a (the best) is a burst frame of b but not of c. The stars used to take
    # b into a's burst and leave c alone: --bursts lost a pair that the default run finds.
    records = [rec("/a", 800, 600), rec("/b", 640, 480), rec("/c", 400, 300)]
    sig = {"/a": pixels_sig(1, 0, 0), "/b": pixels_sig(0.891, 0.454, 0), "/c": pixels_sig(0.682, 0.731, 0)}
    ev = Evidence(sig)
    assert ev.similarity(records[0], records[1]) >= BURST.min_pixels > ev.similarity(records[0], records[2])
    edges = {(0, 1): ev.similarity(records[0], records[1]), (1, 2): ev.similarity(records[1], records[2])}
    assert edges[(1, 2)] >= SAME_SHOT.min_pixels > edges[(0, 1)]
    default = group_stars(records, {(1, 2): edges[(1, 2)]}, ev, SAME_SHOT)
    assert [(g.kind, g.paths) for g in default] == [("duplicates", ["/b", "/c"])]
    loose = group_stars(records, edges, ev, BURST, bursts=True)
    assert [(g.kind, g.paths) for g in loose] == [("burst", ["/a", "/b", "/c"])]
    assert loose[0].similarity[2] == pytest.approx(ev.similarity(records[0], records[2]))


def test_bursts_are_a_superset_of_the_default_groups_on_random_look_alikes():
    rng = np.random.default_rng(5)
    for trial in range(40):
        n = 9
        base = rng.normal(size=3)
        sig = {f"/{i}": pixels_sig(*(base + rng.normal(scale=0.35, size=3))) for i in range(n)}
        records = [rec(f"/{i}", 640 + 8 * int(rng.integers(0, 4)), 480, size=1000 + i) for i in range(n)]
        ev = Evidence(sig)
        sims = {(a, b): ev.similarity(records[a], records[b]) for a in range(n) for b in range(a + 1, n)}
        shot = {p: s for p, s in sims.items() if s >= SAME_SHOT.min_pixels}
        loose = {p: s for p, s in sims.items() if s >= BURST.min_pixels}
        default = group_stars(records, shot, ev, SAME_SHOT)
        bursts = group_stars(records, loose, ev, BURST, bursts=True, shot_edges=shot)
        where = {path: k for k, g in enumerate(bursts) for path in g.paths}
        for g in default:
            assert len({where.get(path) for path in g.paths}) == 1 and g.paths[0] in where, (trial, g.paths)
        assert sum(len(g.paths) for g in bursts) == len(where)  # no photo in two groups
        assert all(g.paths[0] == min(g.paths, key=lambda p: best_first(records[int(p[1:])])) for g in bursts)


def test_find_duplicates_end_to_end_on_files(store, tmp_path):
    rng = random.Random(0)
    files = {}
    for i in range(4):
        original = scene_picture(20 + i)
        files[f"o{i}.png"] = original
        files[f"o{i}_small.jpg"] = resized_copy(original)
    files["o0_crop.jpg"] = cropped_brighter(files["o0.png"], rng)
    put = []
    for name, image in files.items():
        image.save(tmp_path / name, quality=70)
        # Every vector nearly alike, as CLIP's are for pictures of the same kind of thing.
        vector = normalize((np.ones(DIM) + 0.01 * np.random.default_rng(len(put)).standard_normal(DIM))[None])[0]
        put.append((rec(str(tmp_path / name), image.width, image.height, size=len(put), fp=name), vector))
    store.write(WriteBatch(put=put))
    seen = []
    report = find_duplicates(store, cache=SignatureCache(tmp_path), progress=seen.append)
    got = sorted(sorted(g.paths) for g in report.groups)
    want = sorted([sorted(str(tmp_path / n) for n in ("o0.png", "o0_small.jpg", "o0_crop.jpg"))]
                  + [sorted([str(tmp_path / f"o{i}.png"), str(tmp_path / f"o{i}_small.jpg")]) for i in (1, 2, 3)])
    assert got == want
    assert all(g.paths[0].endswith(".png") for g in report.groups)  # the largest copy first
    assert {p.phase for p in seen} == {"neighbours", "pixels"} and isinstance(seen[0], DuplicateProgress)
    assert report.photos == 9 and report.verified >= 4


def test_two_names_of_one_file_are_never_duplicates_and_exact_copies_always_are(store, tmp_path):
    """A symlink and its target, or two hard links, are one file: listing one as the other's extra
    copy invites deleting the target (the link then shows nothing) or frees nothing. A byte-for-byte
    copy is a duplicate even of a flat picture, which has no pixel signature."""
    photo_dir = tmp_path / "photos"
    photo_dir.mkdir()
    scene_picture(40).save(photo_dir / "a.png")
    (photo_dir / "a-link.png").symlink_to("a.png")
    (photo_dir / "a-hard.png").hardlink_to(photo_dir / "a.png")
    Image.new("RGB", (64, 48), "navy").save(photo_dir / "flat.png")
    (photo_dir / "flat-copy.png").write_bytes((photo_dir / "flat.png").read_bytes())
    Image.new("RGB", (64, 48), "teal").save(photo_dir / "other-flat.png")
    put = []
    for name in ("a.png", "a-link.png", "a-hard.png", "flat.png", "flat-copy.png", "other-flat.png"):
        fingerprint = "flat" if name.startswith("flat") else name.split("-")[0] if name.startswith("a") else name
        put.append((rec(str(photo_dir / name), 64 if "flat" in name else 320, 48 if "flat" in name else 320,
                        fp=fingerprint), unit(*([1.0] * (DIM - 1) + [0.01 * len(put)]))))
    store.write(WriteBatch(put=put))

    report = find_duplicates(store, cache=SignatureCache(tmp_path))
    assert [sorted(g.paths) for g in report.groups] == [sorted(str(photo_dir / n) for n in ("flat.png", "flat-copy.png"))]
    assert report.groups[0].similarity == [1.0, 1.0]

    # A real copy is another file: it groups with every name of the first (here it heads the group,
    # equals being ordered by path), so deleting all but the head still keeps the photo.
    (photo_dir / "a-copy.png").write_bytes((photo_dir / "a.png").read_bytes())
    store.write(WriteBatch(put=[(rec(str(photo_dir / "a-copy.png"), 320, 320, fp="a"), unit(*([1.0] * DIM)))]))
    groups = [g.paths for g in find_duplicates(store, cache=SignatureCache(tmp_path)).groups]
    names = {str(photo_dir / n) for n in ("a.png", "a-link.png", "a-hard.png")}
    photo_group = next(paths for paths in groups if str(photo_dir / "a-copy.png") in paths)
    assert photo_group[0] == str(photo_dir / "a-copy.png") and set(photo_group[1:]) == names


def test_photos_holding_different_words_are_different_shots_however_alike_their_pixels():
    a, b = rec("/a", fp="fa"), rec("/b", fp="fb")
    alike = {"/a": pixels_sig(1, 0, 0), "/b": pixels_sig(1, 0.05, 0)}  # the same layout at the signature's scale
    pixels_only = Evidence(alike).similarity(a, b)
    assert pixels_only >= SAME_SHOT.min_pixels

    def words(fa, fb):
        return Evidence(alike, words={k: frozenset(v) for k, v in (("fa", fa), ("fb", fb)) if v}).similarity(a, b)

    assert words({"bakery", "open", "daily"}, {"total", "cash", "change"}) == 0.0  # two signs, two receipts
    assert words({"bakery", "open", "daily"}, {"bakery", "cash", "change"}) == 0.0  # two words each of their own
    shop = {"corner", "shop", "total", "cash", "vat", "20", "00"}  # two receipts of one shop: its fixed words
    assert words(shop | {"milk", "1", "10"}, shop | {"bread", "2", "45"}) == 0.0
    assert words(shop | {"milk", "1", "10"}, shop | {"milk", "1"}) == pixels_only  # a copy read fewer
    assert words(shop | {"milk", "1", "10"}, shop | {"mi1k", "1", "1o"}) == pixels_only  # and misread two
    assert words(shop | {"milk", "1", "10"}, shop | {"mlk", "1", "810"}) == pixels_only  # a letter lost, one gained
    assert words({"bakery", "open", "daily"}, {"bakery", "open", "dally"}) == pixels_only  # a misread word
    assert words({"bakery", "open"}, set()) == pixels_only  # one holds no words: the pixels decide
    assert words({"bakery"}, {"total"}) == pixels_only  # one word each is too little to tell
    same_bytes = rec("/c", fp="fa")
    assert Evidence(alike, words={"fa": frozenset({"x", "y"})}).similarity(a, same_bytes) == 1.0


def test_fold_keeps_order_and_folds_only_matching_pixels(tmp_path):
    original = scene_picture(30)
    other = scene_picture(31)
    paths = []
    for name, image in (("a.png", original), ("b.png", other), ("c.jpg", resized_copy(original))):
        image.save(tmp_path / name)
        paths.append(rec(str(tmp_path / name), image.width, image.height, fp=name))
    vectors = normalize(np.ones((3, DIM)) + 0.01 * np.random.default_rng(0).standard_normal((3, DIM)))
    assert fold(paths, vectors) == [(0, [2]), (1, [])]
    far = normalize(np.random.default_rng(2).standard_normal((3, DIM)))  # no cosine gate passed
    assert fold(paths, far) == [(0, []), (1, []), (2, [])]
    assert fold(paths[:1], vectors[:1]) == [(0, [])]


def test_fold_folds_a_copy_right_after_its_original(tmp_path):
    """Copies often rank side by side: the one just after its original folds under it, as do later ones."""
    original = scene_picture(30)
    paths = []
    for name, image in (("a.png", original), ("b.jpg", resized_copy(original)), ("c.png", scene_picture(31)),
                        ("d.png", original)):
        image.save(tmp_path / name)
        paths.append(rec(str(tmp_path / name), image.width, image.height, fp=name))
    vectors = normalize(np.ones((4, DIM)) + 0.01 * np.random.default_rng(0).standard_normal((4, DIM)))
    assert fold(paths, vectors) == [(0, [1, 3]), (2, [])]


# --- the web app's pieces (no server) ------------------------------------------------------------
def test_web_view_helpers_export_unfold_and_caption():
    from webui.duplicates_view import caption, groups_csv, unfold

    groups = [{"kind": "duplicates", "paths": ["/a.png", "/b.jpg"], "photos": [
        {"path": "/a.png", "size": 10, "width": 4, "height": 3, "date_taken": None,
         "modified": "2020-01-01T00:00:00", "similarity": 1.0},
        {"path": "/b, with comma.jpg", "size": 5, "width": 2, "height": 1, "date_taken": "2019-01-01T00:00:00",
         "modified": "2020-01-01T00:00:00", "similarity": 0.97, "exists": False}]}]
    rows = groups_csv(groups).splitlines()
    assert rows[0] == "group,kind,rank,path,width,height,size,date_taken,modified,similarity,exists"
    assert rows[2].startswith('1,duplicates,1,"/b, with comma.jpg",2,1,5,2019-01-01T00:00:00')
    assert rows[2].endswith(",0.97,False")  # a copy not on disk now says so in the export
    head = {"path": "/a", "name": "a", "score": 0.9, "similar": [{"path": "/c", "name": "c", "score": 0.7}]}
    other = {"path": "/b", "name": "b", "score": 0.8, "similar": []}
    assert caption(head) == "0.900 (+1 similar) · not on disk now · a"  # "/a" is not a file here
    assert caption({**other, "path": __file__}) == "0.800 · b"
    assert [r["path"] for r in unfold([head, other])] == ["/a", "/c", "/b"]  # the order given: never re-sorted
    assert all("similar" not in r for r in unfold([head, other]))


def test_the_best_copy_and_the_result_shown_are_files_that_are_there(tmp_path):
    """A copy the index keeps of a disk not mounted (or deleted since the last run) is never the one
    to keep: "delete the rest" would delete the only real file."""
    from types import SimpleNamespace

    from clipsearch.duplicates import DuplicateGroup, _shown_first

    there = tmp_path / "small.jpg"
    there.write_bytes(b"a photo")
    small, gone = rec(str(there)), rec(str(tmp_path / "unplugged" / "big.jpg"), w=4000, h=3000)
    assert sorted([gone, small], key=best_first) == [small, gone]  # fewer pixels, but there
    photos = DuplicateGroup("duplicates", [small, gone], [1.0, 1.0]).to_dict()["photos"]
    assert [p["exists"] for p in photos] == [True, False]
    first, copy = SimpleNamespace(path=gone.path), SimpleNamespace(path=small.path)
    assert _shown_first(first, [copy]) == (copy, [first])  # the search result shows the real file
    assert _shown_first(copy, [first]) == (copy, [first])


def test_two_names_of_one_file_are_not_copies_while_their_folder_is_missing(tmp_path):
    """An unplugged disk keeps its photos in the index; a symlink and its target on it, or two hard
    links, have one fingerprint and no file to compare now: they were listed as copies of each other."""
    from clipsearch import SearchEngine, Settings
    from testsupport.fakes import FakeEncoder

    disk = tmp_path / "disk"
    disk.mkdir()
    scene_picture(41).save(disk / "a.png")
    (disk / "a-link.png").symlink_to("a.png")
    (disk / "a-hard.png").hardlink_to(disk / "a.png")
    scene_picture(42).save(disk / "b.png")
    (disk / "b-copy.png").write_bytes((disk / "b.png").read_bytes())  # a real copy: a duplicate
    encoder = FakeEncoder()
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    try:
        assert engine.index_folder(disk).added == 5
        copies = [sorted(str(disk / n) for n in ("b.png", "b-copy.png"))]
        assert [sorted(g.paths) for g in engine.duplicates().groups] == copies
        disk.rename(tmp_path / "unplugged")
        assert engine.index_folder(disk).kept == {str(disk): 5}  # the run keeps the missing disk's photos
        assert [sorted(g.paths) for g in engine.duplicates().groups] == copies
        (tmp_path / "unplugged").rename(disk)  # plugged in again, one name gone: what it kept goes too
        (disk / "a-link.png").unlink()
        engine.index_folder(disk)
        assert sorted(file_links.load(settings.index_dir)) == [str(disk / "a-hard.png"), str(disk / "a.png")]
    finally:
        engine.close()


def test_a_symlink_into_a_missing_folder_keeps_its_photo_and_is_no_copy(tmp_path):
    """A symlink in a folder that is there, to a photo on a covered disk unplugged now, dangles: it
    was skipped as "vanished" and its photo left the index (to come back when the disk does)."""
    from clipsearch import SearchEngine, Settings
    from testsupport.fakes import FakeEncoder

    here, disk = tmp_path / "here", tmp_path / "disk"
    here.mkdir()
    disk.mkdir()
    scene_picture(43).save(disk / "t.png")
    scene_picture(44).save(here / "other.png")
    (here / "t-link.png").symlink_to(disk / "t.png")
    encoder = FakeEncoder()
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    try:
        assert engine.index_folder([here, disk]).added == 3
        disk.rename(tmp_path / "unplugged")
        report = engine.index_folder([here, disk])
        assert report.kept == {str(disk): 1} and report.skipped == {} and report.removed == 0
        assert sorted(r.path for r in engine.records()) == [str(disk / "t.png"), str(here / "other.png"),
                                                             str(here / "t-link.png")]
        assert engine.duplicates().groups == []
    finally:
        engine.close()
