"""A photo whose metadata alone changed (a rating, keywords, GPS, a capture date set right, written
into the file by a photo tool) keeps its vector; a change to its pixels or orientation does not.

The edits are made as such tools make them: the JPEG's EXIF segment is replaced in the file's
bytes, its picture data left as it was (saving again with Pillow would encode it anew).
"""

from __future__ import annotations

import io
import os
import sqlite3
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from clipsearch import SearchFilter
from clipsearch.ocr import Line, PageText, Word
from clipsearch.picture_fingerprint import picture_fingerprint
from clipsearch.pixels import SignatureCache
from clipsearch.stores import open_store
from clipsearch.textindex import PageResult, TextIndex
from indexer.report import format_report
from testsupport.imagefactory import photo, save

TAKEN = 0x9003  # DateTimeOriginal, in the Exif IFD


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description xmp:Rating="4"/></rdf:RDF></x:xmpmeta>'


def exif_payload(date: str = "2019:05:06 07:08:09", orientation: int = 1, artist: str = "") -> bytes:
    """EXIF saying when the photo was taken, how it stands, and who took it: "Exif\\0\\0", then its
    TIFF header and directories (what a JPEG's APP1 segment and a HEIF's Exif item hold)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    if artist:
        exif[0x013B] = artist
    exif.get_ifd(0x8769)[TAKEN] = date
    return exif.tobytes()


def exif_segment(date: str, orientation: int = 1, artist: str = "") -> bytes:
    """An APP1 EXIF segment saying when the photo was taken, how it stands, and who took it."""
    payload = exif_payload(date, orientation, artist)
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def with_segments(data: bytes, *segments: bytes, drop: tuple[int, ...] = (0xE1,)) -> bytes:
    """The JPEG ``data`` with its ``drop`` segments removed and ``segments`` put after its start."""
    out, pos = bytearray(data[:2]), 2
    while data[pos + 1] != 0xDA:
        end = pos + 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if data[pos + 1] not in drop:
            out += data[pos:end]
        pos = end
    return bytes(data[:2] + b"".join(segments) + out[2:] + data[pos:])


def jpeg(seed: int = 1, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    photo(160, 120, seed=seed).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def write(path: Path, data: bytes, later_by: int) -> None:
    """Write ``data`` as a tool does: new bytes, a new modification time."""
    old = path.stat().st_mtime_ns if path.exists() else 0
    path.write_bytes(data)
    os.utime(path, ns=(old + later_by * 10**9, old + later_by * 10**9))


def edits_keep_the_vector(engine, library: Path, path: Path, edits, repainted: bytes) -> None:
    """Each of ``edits`` ((the file's bytes -> its bytes with other metadata, the date taken that
    metadata says)) written over ``path``, indexed, in turn: the dry run says it would keep its
    vector, the run keeps it (nothing embedded) and takes the new date; then ``repainted`` (other
    pixels, metadata as before) written over it is counted and embedded anew."""
    engine.index_folder(library)
    vector, embedded = engine.store.vector(str(path)), engine.encoder.images_embedded
    for edit, date in edits:
        write(path, edit(path.read_bytes()), later_by=60)
        dry = engine.index_folder(library, dry_run=True)
        assert (dry.updated, dry.metadata_kept, dry.unchanged) == (1, 1, 3)
        assert "  metadata changed, would keep 1 vector: its picture did not change" in format_report(dry)
        report = engine.index_folder(library)
        assert (report.updated, report.metadata_kept, report.embedded) == (1, 1, 0)
        assert engine.encoder.images_embedded == embedded
        assert np.array_equal(engine.store.vector(str(path)), vector)
        assert engine.store.get(str(path)).date_taken == date
    write(path, repainted, later_by=60)
    dry = engine.index_folder(library, dry_run=True)
    assert (dry.updated, dry.metadata_kept) == (1, 0)
    report = engine.index_folder(library)
    assert (report.updated, report.metadata_kept, report.embedded) == (1, 0, 1)
    assert engine.encoder.images_embedded == embedded + 1


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "photos"
    for i in range(3):
        save(photo(160, 120, seed=10 + i), root / f"other{i}.jpg", quality=90)
    (root / "edited.jpg").write_bytes(with_segments(jpeg(), exif_segment("2019:05:06 07:08:09")))
    return root


def test_a_metadata_only_change_keeps_the_vector_and_updates_the_date(engine, library):
    engine.index_folder(library)
    path = str(library / "edited.jpg")
    vector, embedded = engine.store.vector(path), engine.encoder.images_embedded
    old = (library / "edited.jpg").read_bytes()
    write(library / "edited.jpg", with_segments(old, exif_segment("2021:08:01 12:00:00", artist="Ann Smith"),
                                                 b"\xff\xfe\x00\x09rated 5"), later_by=60)
    report = engine.index_folder(library)
    assert (report.updated, report.metadata_kept, report.embedded, report.unchanged) == (1, 1, 0, 3)
    assert engine.encoder.images_embedded == embedded
    record = engine.store.get(path)
    assert record.date_taken == "2021-08-01T12:00:00" and record.size == (library / "edited.jpg").stat().st_size
    assert np.array_equal(engine.store.vector(path), vector)
    hits = engine.store.search(vector, 5, where=SearchFilter(date_from="2021-01-01", date_to="2021-12-31"))
    assert [r.path for r, _ in hits] == [path]  # the new date reaches the date filters
    assert "metadata changed, kept 1 vector: its picture did not change" in format_report(report)
    assert engine.index_folder(library).unchanged == 4  # and the next run is a stat a file again


class WordsReader:
    """A text reader (``--ocr``) that reads GRAND CAFE in every photo and counts the photos it read."""

    threads, stamp = 1, {"reader": "words"}

    def __init__(self) -> None:
        self.calls = 0

    def read(self, image: Image.Image) -> PageText:
        self.calls += 1
        box = ((0, 0), (9, 0), (9, 9), (0, 9))
        return PageText((Line("GRAND CAFE", 0.9, (Word("GRAND", 0.9, box), Word("CAFE", 0.9, box))),),
                        image.width, image.height)


def test_a_metadata_only_change_keeps_the_words_and_pixel_signature_read_in_the_photo(engine, library):
    # Both were kept by content alone: the text pass read every such photo again, and the duplicate
    # check decoded it again.
    (library / "copy.jpg").write_bytes((library / "edited.jpg").read_bytes())  # the old content stays held
    engine.set_text_reading(True)
    engine.index_folder(library)
    reader = WordsReader()
    assert engine.text.read(engine.store, reader=reader).read == 4  # copy.jpg: the same content, read once
    signature = np.arange(192, dtype=np.float32) / 192
    SignatureCache(engine.settings.index_dir).put_many({engine.store.get(str(library / "edited.jpg")).fingerprint: signature})
    for n, artist in enumerate(("Ann Smith", "Bo Lee")):  # edited twice: the second edit's old content is held by none
        path = library / "edited.jpg"
        write(path, with_segments(path.read_bytes(), exif_segment("2021:08:01 12:00:00", artist=artist)), later_by=60)
        assert engine.index_folder(library).metadata_kept == 1
        again = engine.text.read(engine.store, reader=reader)
        assert (again.to_read, again.read, again.pruned, reader.calls) == (0, 0, n, 4)
        assert engine.text.store().text_of(str(path)) == "GRAND CAFE"
        assert str(path) in [hit.path for hit in engine.text.store().search("cafe")]
        assert engine.text.store().text_of(str(library / "copy.jpg")) == "GRAND CAFE"
        new = engine.store.get(str(path)).fingerprint
        assert np.allclose(SignatureCache(engine.settings.index_dir).get_many([new])[new], signature, atol=1e-3)


def test_a_dry_run_says_the_metadata_only_edits_the_run_keeps_and_the_words_it_will_not_read(
        engine, library, monkeypatch, capsys):
    """README: ``--dry-run`` counts what the run will do. It counted a photo whose metadata alone
    changed as one to update like any other, and its words as words to read again."""
    import indexer.cli

    engine.set_text_reading(True)
    engine.index_folder(library)
    assert engine.text.read(engine.store, reader=WordsReader()).read == 4
    path = library / "edited.jpg"
    write(path, with_segments(path.read_bytes(), exif_segment("2021:08:01 12:00:00", artist="Ann Smith")), later_by=60)
    write(library / "other0.jpg", jpeg(seed=99), later_by=60)  # other pixels: embedded and read anew
    dry = engine.index_folder(library, dry_run=True)
    assert (dry.updated, dry.metadata_kept, dry.unchanged) == (2, 1, 2)
    assert "  metadata changed, would keep 1 vector: its picture did not change" in format_report(dry)
    monkeypatch.setattr(indexer.cli.SearchEngine, "for_writing", lambda settings, **_: engine)
    monkeypatch.setattr(engine, "close", lambda: None)  # the indexer closes its engine; the fixture does
    assert indexer.cli.main([str(library), "--dry-run", "--index", str(engine.settings.index_dir)]) == 0
    said = capsys.readouterr().out
    assert "would add 0, update 2, move 0, remove 0; 2 unchanged" in said
    assert "  text: would read the words in 1 photo (1 new or changed); 4 already read" in said
    real = engine.index_folder(library)  # and the run does so
    assert (real.updated, real.metadata_kept, real.unchanged, real.embedded) == (2, 1, 2, 1)
    assert "  metadata changed, kept 1 vector: its picture did not change" in format_report(real)
    assert engine.text.read(engine.store, reader=WordsReader()).read == 1


def test_a_dry_run_does_not_count_the_words_of_a_touched_photo_as_words_to_read(engine, library, monkeypatch, capsys):
    """A touched file (the same content, a new time) is updated by the run, which reads none of its
    words again (its content's are read); the dry run counted them among the words to read."""
    import indexer.cli

    save(photo(160, 120, seed=30), library / "plain.gif")  # no picture fingerprint for GIF: hashed all the same
    engine.set_text_reading(True)
    engine.index_folder(library)
    assert engine.text.read(engine.store, reader=WordsReader()).read == 5
    for name in ("other0.jpg", "plain.gif"):
        os.utime(library / name, ns=(10**18, 10**18))  # touched
    monkeypatch.setattr(indexer.cli.SearchEngine, "for_writing", lambda settings, **_: engine)
    monkeypatch.setattr(engine, "close", lambda: None)  # the indexer closes its engine; the fixture does
    assert indexer.cli.main([str(library), "--dry-run", "--ocr", "--index", str(engine.settings.index_dir)]) == 0
    said = capsys.readouterr().out
    assert "would add 0, update 2, move 0, remove 0; 3 unchanged" in said
    assert "  text: would read the words in 0 photos; 5 already read" in said
    real = engine.index_folder(library)  # and the run does so
    assert (real.updated, real.content_kept, real.embedded, real.unchanged) == (2, 2, 0, 3)
    assert engine.text.read(engine.store, reader=WordsReader()).read == 0


def test_a_dry_run_does_not_count_the_words_of_a_copy_of_a_photo_read_as_words_to_read(
        engine, library, monkeypatch, capsys):
    """A new copy of a photo whose words are read (and a file changed into one) is given them by
    content: the text pass reads neither. The dry run counted both among the words to read."""
    import indexer.cli

    engine.set_text_reading(True)
    engine.index_folder(library)
    assert engine.text.read(engine.store, reader=WordsReader()).read == 4
    (library / "copy.jpg").write_bytes((library / "other0.jpg").read_bytes())  # new, a copy
    write(library / "other1.jpg", (library / "other2.jpg").read_bytes(), later_by=60)  # changed into a copy
    save(photo(160, 120, seed=50), library / "new.jpg", quality=90)  # new content: read
    monkeypatch.setattr(indexer.cli.SearchEngine, "for_writing", lambda settings, **_: engine)
    monkeypatch.setattr(engine, "close", lambda: None)  # the indexer closes its engine; the fixture does
    assert indexer.cli.main([str(library), "--dry-run", "--ocr", "--index", str(engine.settings.index_dir)]) == 0
    said = capsys.readouterr().out
    assert "would add 2, update 1, move 0, remove 0; 3 unchanged" in said
    assert "  text: would read the words in 1 photo (1 new or changed); 4 already read" in said
    dry = engine.index_folder(library, dry_run=True)
    real = engine.index_folder(library)  # and the run does so
    assert [(r.added, r.updated, r.reused, r.embedded) for r in (dry, real)] == [(2, 1, 2, 1), (2, 1, 2, 1)]
    reader = WordsReader()
    assert engine.text.read(engine.store, reader=reader).read == reader.calls == 1
    assert engine.text.store().text_of(str(library / "copy.jpg")) == "GRAND CAFE"


def test_carrying_words_leaves_a_page_there_alone_and_an_unreadable_one_behind(tmp_path):
    text = TextIndex.open(tmp_path, create=True)
    read = WordsReader().read(Image.new("RGB", (8, 8)))
    text.put([PageResult("old", read), PageResult("failed", reason="file too large"),
              PageResult("new", PageText((), 8, 8))])
    assert text.carry([("old", "new"), ("failed", "other"), ("old", "copy"), ("gone", "x")]) == 1
    assert text.words_of(["new", "copy"]) == {"copy": frozenset({"grand", "cafe"})}  # "new" keeps its own page
    assert text.unread(["new", "other", "copy", "old"]) == 1 and text.page("copy") == read  # "other": not carried
    text.close()


def test_a_change_to_the_pixels_is_embedded_anew(engine, library):
    engine.index_folder(library)
    segment = exif_segment("2019:05:06 07:08:09")
    for seed, quality in ((1, 70), (2, 90)):  # the same pixels encoded otherwise; other pixels
        before = engine.encoder.images_embedded
        write(library / "edited.jpg", with_segments(jpeg(seed, quality), segment), later_by=60)
        report = engine.index_folder(library)
        assert (report.updated, report.metadata_kept, report.embedded) == (1, 0, 1)
        assert engine.encoder.images_embedded == before + 1


def test_a_change_of_orientation_is_embedded_anew(engine, library):
    engine.index_folder(library)
    old = (library / "edited.jpg").read_bytes()
    write(library / "edited.jpg", with_segments(old, exif_segment("2019:05:06 07:08:09", orientation=6)),
          later_by=60)
    report = engine.index_folder(library)
    assert (report.updated, report.metadata_kept, report.embedded) == (1, 0, 1)
    record = engine.store.get(str(library / "edited.jpg"))
    assert (record.width, record.height) == (120, 160)


def test_an_index_without_pictures_embeds_nothing_on_upgrade_and_fills_them_as_files_are_read(
        engine, library, tmp_path):
    """An index of the release before pictures (revision 3, no ``pictures`` table): the first run
    reads and embeds nothing; a file edited before its picture was known is embedded as before,
    and its next metadata edit keeps the vector."""
    engine.index_folder(library)
    index = engine.store.folder
    engine.close()
    with sqlite3.connect(index / "records.sqlite") as db:
        db.execute("DROP TABLE pictures")
        db.execute("UPDATE meta SET value='3' WHERE key='revision'")
    engine.store = open_store(index, engine.encoder.stamp, create=True)  # a writer upgrades it
    report = engine.index_folder(library)
    assert (report.unchanged, report.updated, report.embedded) == (4, 0, 0)
    assert engine.store.pictures() == {}  # nothing read to learn them
    old = (library / "edited.jpg").read_bytes()
    write(library / "edited.jpg", with_segments(old, exif_segment("2020:01:01 00:00:00")), later_by=60)
    assert engine.index_folder(library).embedded == 1  # its picture was not known yet
    write(library / "edited.jpg", with_segments(old, exif_segment("2021:01:01 00:00:00")), later_by=120)
    report = engine.index_folder(library)
    assert (report.metadata_kept, report.embedded) == (1, 0)


def test_a_record_that_an_older_release_rewrote_finds_no_picture_for_its_new_content(engine, library):
    """Pictures are kept by content: a release before them that re-embeds a photo leaves none for
    the new content, so its next edit is read as before rather than matched to the old picture."""
    engine.index_folder(library)
    path = library / "edited.jpg"
    new = with_segments(jpeg(seed=5), exif_segment("2019:05:06 07:08:09"))
    write(path, new, later_by=60)
    with sqlite3.connect(engine.store.folder / "records.sqlite") as db:  # that release's update, as it writes it
        db.execute("UPDATE images SET size=?, mtime_ns=?, fingerprint='0123' WHERE path=?",
                   (path.stat().st_size, path.stat().st_mtime_ns, os.fsencode(path)))
    write(path, with_segments(jpeg(), exif_segment("2022:01:01 00:00:00")), later_by=60)  # back to the old pixels
    report = engine.index_folder(library)
    assert (report.metadata_kept, report.embedded) == (0, 1)


def test_the_picture_fingerprint_ignores_metadata_but_not_colours():
    base = jpeg()
    picture = picture_fingerprint(base)
    assert picture and picture.startswith("jpeg1:")
    jfif_density = base[:14] + b"\x00\x48\x00\x48" + base[18:]  # a JFIF segment's resolution rewritten
    xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>rating 4</x:xmpmeta>"
    for same in (with_segments(base, exif_segment("2001:01:01 00:00:00", artist="x")), jfif_density,
                 with_segments(base, b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp, drop=()),
                 base + b"trailing bytes after the end of the image"):
        assert picture_fingerprint(same) == picture
    profile = b"ICC_PROFILE\0\x01\x01" + bytes(64)
    for other in (with_segments(base, b"\xff\xe2" + struct.pack(">H", len(profile) + 2) + profile, drop=()),
                  with_segments(base, exif_segment("2001:01:01 00:00:00", orientation=3)), jpeg(quality=89)):
        assert picture_fingerprint(other) != picture
    gif = io.BytesIO()
    photo(32, 32).save(gif, "GIF")
    assert picture_fingerprint(gif.getvalue()) is None and picture_fingerprint(base[:200]) is None


def png(seed: int = 1, orientation: int = 1, xmp: str = "", **text: str) -> bytes:
    """A PNG with these text chunks (tEXt, and XMP's iTXt) and an eXIf chunk of this orientation."""
    info, exif = PngImagePlugin.PngInfo(), Image.Exif()
    for key, value in text.items():
        info.add_text(key, value)
    if xmp:
        info.add_itxt("XML:com.adobe.xmp", xmp)
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    photo(64, 48, seed=seed).save(buffer, "PNG", pnginfo=info, exif=exif)
    return buffer.getvalue()


def test_a_png_is_told_by_its_header_palette_colours_and_image_data_not_its_text_chunks():
    picture = picture_fingerprint(png())
    assert picture and picture.startswith("png1:")
    assert picture_fingerprint(png(Title="sea", xmp="<x:xmpmeta>rating 4</x:xmpmeta>")) == picture
    assert picture_fingerprint(png(seed=2)) != picture and picture_fingerprint(png(orientation=8)) != picture


def test_a_png_whose_text_alone_changed_keeps_its_vector(engine, library):
    (library / "drawing.png").write_bytes(png())
    engine.index_folder(library)
    vector, embedded = engine.store.vector(str(library / "drawing.png")), engine.encoder.images_embedded
    write(library / "drawing.png", png(Description="the harbour at dawn"), later_by=60)
    report = engine.index_folder(library)
    assert (report.metadata_kept, report.embedded, engine.encoder.images_embedded) == (1, 0, embedded)
    assert np.array_equal(engine.store.vector(str(library / "drawing.png")), vector)
