"""The text store (SQLite FTS5) and the text pass around a fake reader: no OCR model here."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

import pytest
from PIL import Image

from clipsearch.errors import StoreWriteError
from clipsearch.images import fingerprint_bytes
from clipsearch.ocr import Line, PageText, Word
from clipsearch.stores.base import ImageRecord, SearchFilter
from clipsearch.textindex import (
    TEXT_DB_NAME,
    PageResult,
    TextIndex,
    alternate_forms,
    parse_text_query,
)
from clipsearch.textpass import TextPass


def page(text: str) -> PageText:
    lines = tuple(Line(t, 0.95, tuple(Word(w, 0.95, ((0, 0), (9, 0), (9, 9), (0, 9))) for w in t.split()))
                  for t in text.split("\n") if t)
    return PageText(lines, 100, 80)


def record(path: str, fp: str, date: str | None = None, mtime_ns: int = 1_600_000_000 * 10**9) -> ImageRecord:
    return ImageRecord(path, 10, mtime_ns, fp, 100, 80, date)


@pytest.fixture
def text(tmp_path):
    index = TextIndex.open(tmp_path / "index", create=True)
    index.sync_files([
        record("/photos/2019/sign.jpg", "fp-sign", "2019-06-01T10:00:00"),
        record("/photos/2020/menu.jpg", "fp-menu", "2020-03-02T12:00:00"),
        record("/photos/2020/receipt.jpg", "fp-receipt", "2020-08-09T18:30:00"),
        record("/photos/2020/dog.jpg", "fp-dog", "2020-08-10T09:00:00"),
    ])
    index.put([
        PageResult("fp-sign", page("GRAND CAFÉ\nOpen 7-22")),
        PageResult("fp-menu", page("Crème brûlée 6.50\nGrandma's apple pie")),
        PageResult("fp-receipt", page("BAMB00 SHOOTS 3.20\nGINGER94.67\nTOTAL 12.40")),
        PageResult("fp-dog", page("")),
    ])
    yield index
    index.close()


def paths(hits) -> list[str]:
    return [os.path.basename(h.path) for h in hits]


def test_case_and_accent_insensitive(text):
    assert paths(text.search("grand cafe")) == ["sign.jpg"]
    assert paths(text.search("Café")) == ["sign.jpg"]
    assert paths(text.search("CREME BRULEE")) == ["menu.jpg"]
    assert paths(text.search("crème")) == ["menu.jpg"]


def test_prefix_matches_rank_after_whole_words(text):
    hits = text.search("grand")
    assert paths(hits) == ["sign.jpg", "menu.jpg"]  # GRAND whole, then Grandma's as a prefix
    assert [h.exact for h in hits] == [True, False]
    assert paths(text.search("bru")) == ["menu.jpg"]
    assert text.search("gr") == []  # two letters: whole words only


def test_quotes_ask_for_the_exact_phrase(text):
    assert paths(text.search('"grand cafe"')) == ["sign.jpg"]
    assert text.search('"cafe grand"') == []
    assert text.search('"grandm"') == []  # no prefix inside quotes
    assert paths(text.search('"open 7-22"')) == ["sign.jpg"]


def test_all_words_must_appear(text):
    assert text.search("cafe pie") == []
    assert paths(text.search("apple grandma")) == ["menu.jpg"]


def test_snippet_marks_the_matched_words(text):
    [hit] = text.search("cafe")
    assert hit.snippet == "GRAND [CAFÉ] Open 7-22"
    [hit] = text.search('"grand cafe"')
    assert "[GRAND CAFÉ]" in hit.snippet


def test_ocr_confusions_stay_findable(text):
    assert paths(text.search("bamboo")) == ["receipt.jpg"]
    assert paths(text.search("ginger")) == ["receipt.jpg"]
    assert "BAMBoo" in alternate_forms("BAMB00") and "GINGER" in alternate_forms("GINGER94.67").split()
    assert alternate_forms("2024 12.40") == ""  # numbers stay numbers


def test_folder_and_date_filters(text):
    assert paths(text.search("grand", where=SearchFilter(folder="/photos/2020"))) == ["menu.jpg"]
    assert paths(text.search("grand", where=SearchFilter(folder="/photos/2019"))) == ["sign.jpg"]
    assert paths(text.search("grand", where=SearchFilter(date_from="2020-01-01"))) == ["menu.jpg"]
    assert paths(text.search("grand", where=SearchFilter(date_to="2019-06-01"))) == ["sign.jpg"]
    assert text.search("total", where=SearchFilter(date_from="2020-08-10")) == []
    assert paths(text.search("total", where=SearchFilter(date_from="2020-08-09", date_to="2020-08-09"))) == [
        "receipt.jpg"]


def test_a_moved_file_keeps_its_text_and_a_copy_shares_it(text):
    text.sync_files([
        record("/photos/moved/sign.jpg", "fp-sign"),
        record("/photos/copy-of-sign.jpg", "fp-sign"),
        record("/photos/2020/menu.jpg", "fp-menu"),
    ])
    assert text.pending() == []
    assert sorted(paths(text.search("cafe"))) == ["copy-of-sign.jpg", "sign.jpg"]
    assert text.text_of("/photos/moved/sign.jpg") == "GRAND CAFÉ\nOpen 7-22"
    assert text.prune() == 2  # the receipt and the picture without text left the index
    assert text.search("total") == []


def test_counts_and_pending(text):
    assert text.counts() == {"files": 4, "read": 4, "with_text": 3, "unreadable": 0, "pending": 0}
    text.sync_files([record("/photos/new.jpg", "fp-new"), record("/photos/2020/menu.jpg", "fp-menu")])
    assert text.pending() == [("fp-new", "/photos/new.jpg")]
    text.put([PageResult("fp-new", reason="decode error")])
    assert text.pending() == []
    assert text.counts()["unreadable"] == 1


def test_queries_without_words_and_odd_characters():
    assert parse_text_query("  ") is None and parse_text_query("?!") is None
    q = parse_text_query('say "hi" AND OR NOT * ( NEAR')
    assert q.exact == '"hi" AND "say" AND "AND" AND "OR" AND "NOT" AND "NEAR"'


def test_odd_queries_never_raise(text):
    for query in ['"', '""', "a*b", "(x", "NEAR(a b)", "-x", "col:x", "^", 'x"y', "日本語"]:
        text.search(query)


def test_a_failed_batch_leaves_nothing_behind(text):
    text.sync_files([record("/photos/a.jpg", "fp-a"), record("/photos/b.jpg", "fp-b")])

    def results():
        yield PageResult("fp-a", page("apple"))
        raise RuntimeError("disk on fire")  # mid-batch

    with pytest.raises(RuntimeError):
        text.put(results())
    assert text.search("apple") == []
    assert [fp for fp, _ in text.pending()] == ["fp-a", "fp-b"]


def test_an_index_without_text_store_opens_and_gains_one(tmp_path):
    assert TextIndex.open(tmp_path) is None
    assert not (tmp_path / TEXT_DB_NAME).exists()
    made = TextIndex.open(tmp_path, create=True)
    assert made is not None and not made.enabled
    made.set_enabled(True)
    made.close()
    again = TextIndex.open(tmp_path)
    assert again.enabled
    again.close()


def test_a_newer_schema_is_refused(tmp_path):
    TextIndex.open(tmp_path, create=True).close()
    with sqlite3.connect(tmp_path / TEXT_DB_NAME) as db:
        db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StoreWriteError, match="schema version 99"):
        TextIndex.open(tmp_path)


# --- the text pass, around a fake reader ---------------------------------------------------------
class FakeReader:
    """Reads the text keyed by the picture's width; counts calls; fails on width 66."""

    threads = 2
    stamp = {"reader": "fake"}

    def __init__(self, texts: dict[int, str]) -> None:
        self.texts = texts
        self.calls = 0
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> PageText:
        with self._lock:
            self.calls += 1
        if image.width == 66:
            raise RuntimeError("onnx exploded")
        return page(self.texts.get(image.width, ""))


def photos(folder, widths: list[int]) -> list[ImageRecord]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, width in enumerate(widths):
        path = folder / f"p{i:02d}.png"
        Image.new("RGB", (width, 40), (i * 9 % 255, 80, 120)).save(path)
        data = path.read_bytes()
        out.append(ImageRecord(str(path), len(data), path.stat().st_mtime_ns, fingerprint_bytes(data), width, 40))
    return out


def test_pass_reads_new_files_once_and_skips_bad_ones(tmp_path):
    records = photos(tmp_path / "pics", [50, 51, 52, 66, 53])
    (tmp_path / "pics" / "p04.png").write_bytes(b"not a picture any more")  # changed since indexed
    bad = tmp_path / "pics" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 broken")
    records.append(ImageRecord(str(bad), 11, 1, fingerprint_bytes(bad.read_bytes()), 9, 9))
    reader = FakeReader({50: "apple pie", 52: "grand cafe"})
    index = TextIndex.open(tmp_path / "index", create=True)
    report = TextPass(index, reader, batch_size=2).run(records)
    assert (report.read, report.with_text, report.to_read) == (3, 2, 6)
    assert report.skipped == {"ocr error": [records[3].path], "changed since indexed": [records[4].path],
                              "decode error": [str(bad)]}
    assert paths(index.search("cafe")) == ["p02.png"]
    # Again: only the file that changed after indexing is tried again (lasting failures are not).
    calls = reader.calls
    again = TextPass(index, reader).run(records)
    assert (again.to_read, again.read, reader.calls - calls) == (1, 0, 0)
    assert again.skipped == {"changed since indexed": [records[4].path]}
    index.close()


def test_pass_stops_after_a_batch_and_resumes(tmp_path):
    records = photos(tmp_path / "pics", list(range(70, 80)))
    reader = FakeReader({w: f"word{w}" for w in range(70, 80)})
    index = TextIndex.open(tmp_path / "index", create=True)
    stop = threading.Event()
    progress = []

    def on_progress(p):
        progress.append(p.read)
        stop.set()

    report = TextPass(index, reader, batch_size=3, progress=on_progress, should_stop=stop.is_set).run(records)
    assert report.interrupted and report.read == 3 and report.left == 7 and progress == [3]
    assert index.counts()["pending"] == 7
    resumed = TextPass(index, reader, batch_size=3).run(records)
    assert not resumed.interrupted and resumed.read == 7 and resumed.left == 0
    assert paths(index.search("word75")) == ["p05.png"]
    index.close()


def test_a_stopped_pass_drops_the_queued_pages_and_waits_for_those_being_read(tmp_path):
    # Ending the process while a thread is inside an OCR engine's native code aborted it
    # (SIGABRT, "terminate called without an active exception") instead of exiting with code 1.
    records = photos(tmp_path / "pics", list(range(70, 90)))

    class SlowReader(FakeReader):
        def __init__(self, texts):
            super().__init__(texts)
            self.running = 0

        def read(self, image):
            with self._lock:
                self.running += 1
            time.sleep(0.2)
            with self._lock:
                self.running -= 1
            return super().read(image)

    reader = SlowReader({})
    index = TextIndex.open(tmp_path / "index", create=True)
    report = TextPass(index, reader, batch_size=2, workers=2, should_stop=lambda: True).run(records)
    assert report.interrupted and report.read == 2
    assert reader.running == 0  # every page being read was finished before the pass returned
    time.sleep(0.5)
    assert reader.calls <= 2 + 2  # the batch, and at most what each thread had begun: the rest dropped
    index.close()


def test_photos_not_on_disk_now_wait_for_their_disk_without_a_warning_each(tmp_path, caplog):
    records = photos(tmp_path / "usb", [80, 81, 82])
    reader = FakeReader({80: "harbour"})
    index = TextIndex.open(tmp_path / "index", create=True)
    (tmp_path / "usb").rename(tmp_path / "unplugged")  # the index keeps them while it is not mounted
    away = TextPass(index, reader).run(records)
    assert (away.not_on_disk, away.to_read, away.read, away.skipped, reader.calls) == (3, 0, 0, {}, 0)
    assert "skipping" not in caplog.text and index.counts()["pending"] == 3
    (tmp_path / "unplugged").rename(tmp_path / "usb")
    back = TextPass(index, reader).run(records)
    assert (back.not_on_disk, back.read) == (0, 3) and paths(index.search("harbour")) == ["p00.png"]
    index.close()


def test_a_match_in_an_alternate_form_shows_the_words_the_photo_says(text):
    # "ginger" and "bamboo" match only the alternate forms of GINGER94.67 and BAMB00: the snippet
    # still quotes the photo's own words, the one that matched marked, never the alternate forms
    [hit] = text.search("ginger")
    assert hit.snippet.startswith("BAMB00 SHOOTS") and "[GINGER94].67" in hit.snippet
    [hit] = text.search("bamboo")
    assert hit.snippet.startswith("[BAMB00] SHOOTS 3.20")
    [hit] = text.search("ging")  # a word beginning, too
    assert "[GINGER94].67" in hit.snippet


def test_sharp_s_and_ss_find_each_other(tmp_path):
    # STRASSE is how Straße is written in capitals: a German user types either
    index = TextIndex.open(tmp_path / "index", create=True)
    index.sync_files([record("/p/a.jpg", "fa"), record("/p/b.jpg", "fb")])
    index.put([PageResult("fa", page("HAUPTSTRASSE 12")), PageResult("fb", page("Goethestraße 5\nGROẞE PAUSE"))])
    assert paths(index.search("hauptstraße")) == ["a.jpg"]
    assert paths(index.search("HAUPTSTRAẞE")) == ["a.jpg"]
    assert paths(index.search("goethestrasse")) == ["b.jpg"]
    assert paths(index.search("goethestraße")) == ["b.jpg"]
    assert paths(index.search('"goethestrasse 5"')) == ["b.jpg"]
    assert paths(index.search("grosse")) == ["b.jpg"]
    assert paths(index.search("goethestr")) == ["b.jpg"]
    [hit] = index.search("goethestrasse")
    assert hit.snippet.startswith("[Goethestraße] 5")
    index.close()


def test_pages_read_before_sharp_s_was_folded_gain_it_on_the_next_pass(tmp_path):
    index = TextIndex.open(tmp_path / "index", create=True)
    index.sync_files([record("/p/b.jpg", "fb")])
    index.put([PageResult("fb", page("Goethestraße 5"))])
    index._db.execute("UPDATE page_text SET alt = ''")  # as an older clipsearch wrote it
    index._db.execute("DELETE FROM meta WHERE key = 'alternate_forms'")
    assert index.search("goethestrasse") == []
    assert paths(index.search("goethestraße")) == ["b.jpg"]  # the query's own spelling still finds it
    assert index.refresh_alternate_forms() == 1
    assert paths(index.search("goethestrasse")) == ["b.jpg"]
    assert index.refresh_alternate_forms() == 0  # once
    index.close()


def test_a_hyphenated_word_is_found_written_as_one(tmp_path):
    # a Wi-Fi password on a card, an E-Mail address on a German letterhead: typed as one word
    index = TextIndex.open(tmp_path / "index", create=True)
    index.sync_files([record("/p/a.jpg", "fa"), record("/p/b.jpg", "fb")])
    index.put([PageResult("fa", page("Wi-Fi password: sunflower7")), PageResult("fb", page("E-Mail: info@example.com"))])
    assert paths(index.search("wifi")) == ["a.jpg"]
    assert paths(index.search("wi-fi")) == ["a.jpg"]
    assert paths(index.search("email")) == ["b.jpg"]
    assert paths(index.search("wifi password")) == ["a.jpg"]
    [hit] = index.search("wifi")
    assert hit.snippet == "[Wi-Fi] password: sunflower7"
    assert alternate_forms("7-22 open") == ""  # numbers stay numbers
    index.close()


def test_a_phone_number_is_found_typed_without_its_spaces(tmp_path):
    index = TextIndex.open(tmp_path / "index", create=True)
    index.sync_files([record("/p/a.jpg", "fa")])
    index.put([PageResult("fa", page("Call 0800 555 1234\nTotal: $42.99 2024"))])
    assert paths(index.search("08005551234")) == ["a.jpg"]
    assert paths(index.search("0800 555 1234")) == ["a.jpg"]
    assert paths(index.search("0800-555-1234")) == ["a.jpg"]
    [hit] = index.search("08005551234")
    assert hit.snippet == "Call [0800 555 1234] Total: $42.99 2024"
    assert alternate_forms("Total: $42.99 2024 12") == ""  # prices and short numbers stay as they are
    index.close()


def test_a_query_typed_with_hyphens_or_spaces_finds_the_word_read_as_one(tmp_path):
    # the other way round: the photo says WIFI or 08005551234, the query is typed split
    index = TextIndex.open(tmp_path / "index", create=True)
    index.sync_files([record("/p/a.jpg", "fa"), record("/p/b.jpg", "fb"), record("/p/c.jpg", "fc")])
    index.put([PageResult("fa", page("FREE WIFI inside")), PageResult("fb", page("Hotline 08005551234")),
               PageResult("fc", page("Wi-Fi 0800 555 1234"))])
    assert sorted(paths(index.search("wi-fi"))) == ["a.jpg", "c.jpg"]
    assert paths(index.search("free wi-fi")) == ["a.jpg"]
    assert paths(index.search('"free wi-fi"')) == ["a.jpg"]
    for query in ("0800-555-1234", "0800 555 1234", '"0800 555 1234"', "hotline 0800 555 1234"):
        assert "b.jpg" in paths(index.search(query)), query
    assert paths(index.search("hotline 0800 555 1234")) == ["b.jpg"]
    assert sorted(paths(index.search("0800 555 1234"))) == ["b.jpg", "c.jpg"]  # what worked still works
    [hit] = index.search("hotline 0800-555-1234")
    assert hit.snippet == "[Hotline] [08005551234]"
    assert index.search("0800 556") == [] and index.search("wi-fo") == []
    index.close()


def test_umlauts_and_their_spelling_with_e_find_each_other(tmp_path):
    # baeckerei, muenchen, koeln: how German is typed without ä, ö, ü; FTS5 folds ä only to a
    index = TextIndex.open(tmp_path / "index", create=True)
    index.sync_files([record(f"/p/{n}.jpg", f"f{n}") for n in "abcde"])
    index.put([PageResult("fa", page("Bäckerei Müller")), PageResult("fb", page("MÜNCHEN HBF")),
               PageResult("fc", page("Köln Süßwaren")), PageResult("fd", page("BAECKEREI KOELN")),
               PageResult("fe", page("Blu-ray Tru Gust Shop Arial to quu"))])
    assert sorted(paths(index.search("baeckerei"))) == ["a.jpg", "d.jpg"]
    assert paths(index.search("backerei")) == ["a.jpg"]  # as before: ä folds to a
    assert paths(index.search("muenchen")) == ["b.jpg"]
    assert sorted(paths(index.search("koeln"))) == ["c.jpg", "d.jpg"]
    assert sorted(paths(index.search("bäckerei"))) == ["a.jpg", "d.jpg"]
    assert sorted(paths(index.search("köln"))) == ["c.jpg", "d.jpg"]
    assert paths(index.search('"baeckerei mueller"')) == ["a.jpg"]
    assert paths(index.search("suesswaren")) == ["c.jpg"] and paths(index.search("muell")) == ["a.jpg"]
    [hit] = index.search("muenchen")
    assert hit.snippet == "[MÜNCHEN] HBF"
    for english in ("blue", "true", "guest", "shoe", "aerial", "queue", "toe"):  # ae/oe/ue stay as typed
        assert index.search(english) == [], english
    index.close()


def test_an_english_word_does_not_begin_the_spelled_out_form_of_an_umlaut(tmp_path):
    # Blüte (a blossom) is indexed also as Bluete, which "blue" begins: a blue sign matched it
    index = TextIndex.open(tmp_path / "index", create=True)
    index.sync_files([record(f"/p/{n}.jpg", f"f{n}") for n in "abcd"])
    index.put([PageResult("fa", page("Blüte")), PageResult("fb", page("Bluetooth speaker")),
               PageResult("fc", page("Trüffel Müller")), PageResult("fd", page("BLUETEN"))])
    for query in ("blute", "bluete", "Blüte", "BLÜTE", "blüt", "bluet"):
        assert "a.jpg" in paths(index.search(query)), query
    assert sorted(paths(index.search("blue"))) == ["b.jpg", "d.jpg"]  # words written beginning with blue
    assert index.search("true") == [] and paths(index.search("trueffel")) == paths(index.search("truff")) == ["c.jpg"]
    assert paths(index.search("muell")) == ["c.jpg"]  # a beginning past the spelling: Müll...
    assert paths(index.search("blue speaker")) == ["b.jpg"] and index.search('"blue"') == []
    index.close()


def test_a_word_ending_in_ss_does_not_begin_the_form_of_sharp_s_written_ss(tmp_path):
    # Maßstab is indexed also as Massstab, which "mass" begins, as "blue" began Bluete (Blüte)
    index = TextIndex.open(tmp_path / "index", create=True)
    index.sync_files([record(f"/p/{n}.jpg", f"f{n}") for n in "abcde"])
    index.put([PageResult("fa", page("Maßstab 1:100")), PageResult("fb", page("MASSAGE")),
               PageResult("fc", page("Maß")), PageResult("fd", page("Massstab")),
               PageResult("fe", page("Süßwaren"))])
    for query in ("maßstab", "Maßstab", "massstab", "MASSSTAB", "maßst", "massst", "maß"):
        assert "a.jpg" in paths(index.search(query)), query
    assert sorted(paths(index.search("mass"))) == ["b.jpg", "c.jpg", "d.jpg"]  # Maß whole, the rest as written
    assert paths(index.search("süß")) == paths(index.search("suessw")) == paths(index.search("süssw")) == ["e.jpg"]
    assert index.search("süss") == [] and index.search("masstab") == []  # nor is one s of three dropped
    index.close()


def test_pages_read_before_umlauts_were_spelled_out_gain_it_on_the_next_pass(tmp_path):
    index = TextIndex.open(tmp_path / "index", create=True)
    index.sync_files([record("/p/a.jpg", "fa")])
    index.put([PageResult("fa", page("Bäckerei"))])
    index._db.execute("UPDATE page_text SET alt = ''")  # as clipsearch wrote it before rule 5
    index._db.execute("UPDATE meta SET value = '4' WHERE key = 'alternate_forms'")
    assert index.search("baeckerei") == []
    assert index.refresh_alternate_forms() == 1
    assert paths(index.search("baeckerei")) == ["a.jpg"]
    index.close()


def test_brackets_a_photo_says_are_told_apart_from_the_marks_of_matched_words(tmp_path):
    from clipsearch.snippets import pieces
    from webui.markdown import words_markdown

    index = TextIndex.open(tmp_path / "index", create=True)
    index.sync_files([record("/p/a.jpg", "fa"), record("/p/b.jpg", "fb")])
    index.put([PageResult("fa", page("[SALE] 50% off\nC:\\DATA [1]")), PageResult("fb", page("[GINGER94].67"))])
    [hit] = index.search("sale")
    assert hit.snippet == "\\[[SALE]\\] 50% off C:\\\\DATA \\[1\\]"
    assert pieces(hit.snippet) == [("[", False), ("SALE", True), ("] 50% off C:\\DATA [1]", False)]
    shown = words_markdown(hit.snippet)
    assert shown.startswith("\\[**SALE**\\] 50% off C:\\\\DATA \\[1\\]")  # the sign's brackets as they are, not bold
    [hit] = index.search("ginger")  # a match in an alternate form: the words escaped too
    assert hit.snippet == "\\[[GINGER94]\\].67"
    assert pieces("Open [GRAND] CAFE") == [("Open ", False), ("GRAND", True), (" CAFE", False)]
    assert words_markdown("Open [GRAND] CAFE") == "Open **GRAND** CAFE"  # as before
    index.close()
