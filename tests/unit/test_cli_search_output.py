"""What ``clipsearch search`` prints about its results, beside the results themselves."""

from __future__ import annotations

from cli.search import print_hits
from clipsearch import SearchResult


def hit(path, score=0.5, strong=True) -> SearchResult:
    return SearchResult(str(path), score, 10, 10, None, 1, 0, strong)


def test_results_not_on_disk_now_are_counted_on_stderr_and_stdout_stays_plain(tmp_path, capsys):
    here = tmp_path / "here.jpg"
    here.write_bytes(b"x")
    away = tmp_path / "usb" / "away.jpg"  # a disk not mounted: the index keeps its photos
    print_hits([hit(here, 0.9), hit(away, 0.8), hit(tmp_path / "weak.jpg", 0.1, strong=False)], as_json=False)
    out, err = capsys.readouterr()
    assert out == f"0.900\t{here}\n0.800\t{away}\n"  # scripts read the same lines as before
    assert "1 of these is not on disk now (a disk not mounted?)" in err
    print_hits([hit(here, 0.9)], as_json=False)
    assert "not on disk" not in capsys.readouterr().err


def test_a_folder_filter_outside_the_index_says_what_the_index_covers(tmp_path):
    """The command line and the web app say it (``clipsearch.folders.not_covered``)."""
    from clipsearch.folders import not_covered as _outside

    photos, disk = tmp_path / "Pictures", tmp_path / "disk"
    disk.mkdir()
    photos.symlink_to(disk)
    covered = [str(disk)]
    for inside in (disk, disk / "2019", photos / "2019", tmp_path):  # in it, under it, via a link, above it
        assert _outside(str(inside), covered) is None
    assert _outside(str(tmp_path / "Phone"), covered) == (
        f"the index holds no photo in {tmp_path / 'Phone'}: it covers {disk}")
    assert _outside(str(tmp_path / "disk2"), covered) is not None  # a name that starts alike is another folder
    assert _outside("/x", []) == "the index holds no photo in /x: it covers no folder yet"


def test_min_score_is_auto_or_a_finite_number():
    """`--min-score nan` hid or showed results at random (NaN compares false); now it is a usage error."""
    import argparse

    import pytest

    from cli.search import min_score

    assert (min_score("auto"), min_score(" AUTO "), min_score("0.25"), min_score("0")) == ("auto", "auto", 0.25, 0.0)
    for wrong in ("nan", "inf", "-inf", "high", ""):
        with pytest.raises(argparse.ArgumentTypeError, match=f"expected 'auto' or a number, not {wrong!r}"):
            min_score(wrong)


def test_sort_by_date_orders_the_matches_newest_first_and_prints_their_dates(tmp_path, capsys):
    """As the web app's "date (newest first)": the cut-off and the folding see the best-first list,
    then the matches print in date order (date taken, else the file's time), the date beside the score."""
    import json
    import time

    from clipsearch import sort_date

    mtime = int(time.mktime((2021, 5, 6, 12, 0, 0, 0, 0, -1)) * 1e9)  # a file's time, no EXIF date
    hits = [SearchResult(str(tmp_path / "best.jpg"), 0.9, 10, 10, "2019-07-04T10:00:00", 1, 0),
            SearchResult(str(tmp_path / "no-exif.jpg"), 0.8, 10, 10, None, 1, mtime),
            SearchResult(str(tmp_path / "newest.jpg"), 0.7, 10, 10, "2024-01-02T08:00:00", 1, 0),
            hit(tmp_path / "weak.jpg", 0.2, strong=False)]
    assert sort_date(hits[1]) == "2021-05-06T12:00:00"
    print_hits(hits, as_json=False, newest_first=True)
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"0.700\t2024-01-02\t{tmp_path / 'newest.jpg'}", f"0.800\t2021-05-06\t{tmp_path / 'no-exif.jpg'}",
                                f"0.900\t2019-07-04\t{tmp_path / 'best.jpg'}"]
    assert "3 strong matches; 1 weaker hidden" in err
    print_hits(hits, as_json=True, newest_first=True)
    assert [r["score"] for r in json.loads(capsys.readouterr().out)] == [0.7, 0.8, 0.9, 0.2]  # every hit, by date
    print_hits(hits, as_json=False)
    assert capsys.readouterr().out.startswith(f"0.900\t{tmp_path / 'best.jpg'}\n")  # best first, as before


def test_a_score_that_rounds_to_zero_prints_without_a_minus_sign(tmp_path, capsys):
    print_hits([hit(tmp_path / "a.jpg", -0.0002), hit(tmp_path / "b.jpg", -0.0123)], as_json=False)
    out = capsys.readouterr().out
    assert out == f"0.000\t{tmp_path / 'a.jpg'}\n-0.012\t{tmp_path / 'b.jpg'}\n"  # not "-0.000"


def test_a_flat_cut_off_counts_the_photos_listed_for_their_words_apart(tmp_path, capsys):
    """A photo whose words matched is listed under a flat --min-score whatever its score; the note
    said "2 scored 0.5 or more" where one of the two scored 0.218."""
    sign = SearchResult(str(tmp_path / "sign.jpg"), 0.218, 10, 10, None, 1, 0, True, "[WAFFLE] 58.14")
    print_hits([hit(tmp_path / "a.jpg", 0.6), sign, hit(tmp_path / "b.jpg", 0.3, strong=False)], as_json=False, cut=0.5)
    out, err = capsys.readouterr()
    assert out.splitlines()[1] == f"0.218\t{tmp_path / 'sign.jpg'}\t[WAFFLE] 58.14"
    assert "1 scored 0.5 or more and 1 matched by its words; 1 weaker hidden (--min-score 0 shows all)" in err
    print_hits([sign, hit(tmp_path / "b.jpg", 0.3, strong=False)], as_json=False, cut=0.5)
    assert "0 scored 0.5 or more and 1 matched by its words; 1 weaker hidden" in capsys.readouterr().err


def test_no_photo_in_the_filter_is_not_said_as_no_result_when_videos_match(tmp_path, capsys):
    """A date range holding videos but no photo printed the moments under "No result: no indexed
    photo is in that folder and date range", as if nothing had been found."""
    from clipsearch.videos import MomentResult

    clip = MomentResult(str(tmp_path / "clip.mp4"), 7.0, 0.4, 12.0, 320, 240, "2023-05-01T10:00:00", 100, 0)
    print_hits([], as_json=False, filtered=True, moments=[clip])
    out, err = capsys.readouterr()
    assert out == f"0.400\t{tmp_path / 'clip.mp4'}\tat 0:07\n"
    assert "No result:" not in err
    assert "No photo result: no indexed photo is in that folder and date range; the videos' moments follow" in err
    print_hits([], as_json=False, filtered=True)
    assert "No result: no indexed photo is in that folder and date range" in capsys.readouterr().err
