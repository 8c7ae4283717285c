"""The indexer's end-of-run summary (``indexer.report.format_report``) in the cases people misread."""

from __future__ import annotations

from clipsearch.reports import IndexReport
from indexer.report import format_report


def test_an_empty_folder_is_questioned_not_reported_as_a_success():
    text = format_report(IndexReport(folders=["/home/me/Pictures/typo"]))
    assert "0 image files found in /home/me/Pictures/typo" in text
    assert "no picture files there" in text and "is it the right folder?" in text
    raw = format_report(IndexReport(folders=["/mnt/card"], other_files={".xmp": 1200, ".mov": 30}))
    assert ("no picture files there (JPEG, PNG, WebP, HEIC, AVIF, GIF, TIFF, BMP, camera RAW): it holds other files "
            "(1,200 .xmp, 30 .mov): videos only with --videos") in raw
    clips = format_report(IndexReport(folders=["/mnt/gopro"], other_files={".mp4": 12}), videos=True)
    assert "it holds other files (12 .mp4): videos are read after the photos (below)" in clips \
        and "only with --videos" not in clips


def test_a_run_with_nothing_to_embed_says_why_instead_of_a_rate():
    quiet = format_report(IndexReport(folders=["/p"], found=20, unchanged=20, elapsed=0.04))
    assert "nothing to embed (up to date)" in quiet and "images/s" not in quiet
    moved = format_report(IndexReport(folders=["/p"], found=20, unchanged=19, moved=1))
    assert "nothing to embed (moved and touched files keep their vectors)" in moved
    busy = format_report(IndexReport(folders=["/p"], found=20, added=20, embedded=20, elapsed=2.0))
    assert "embedded 20 (0 reused from identical files) in 2.0 s, 10.0 images/s" in busy
    assert "right folder" not in busy
    copies = format_report(IndexReport(folders=["/p"], found=21, unchanged=20, added=1, reused=1, elapsed=2.8))
    assert "embedded 0 (1 reused from identical files) in 2.8 s" in copies and "images/s" not in copies


def test_files_left_unread_are_counted_in_words_that_fit_the_number():
    assert "1 unreadable file skipped again without reading: unchanged since it was reported" in format_report(
        IndexReport(folders=["/p"], found=3, unchanged=2, still_unreadable=1))
    assert "3 unreadable files skipped again without reading: unchanged since they were reported" in format_report(
        IndexReport(folders=["/p"], found=3, still_unreadable=3))


def test_a_folder_that_is_gone_says_its_photos_are_kept_and_how_to_forget_them(tmp_path):
    gone = str(tmp_path / "usb-disk")
    text = format_report(IndexReport(folders=[gone], kept={gone: 1200}))
    assert (f"{gone} is missing (a disk not mounted?): its 1200 indexed photos are kept; "
            f"if it moved or is gone for good, `python -m indexer --remove {gone}` forgets them") in text
    assert "right folder" not in text and "nothing to embed (nothing new)" in text


def test_photos_refused_one_by_one_in_a_folder_that_is_there_are_not_called_an_empty_folder(tmp_path):
    """A network disk's EIO on two files' ``stat`` keeps their records, counted under their folder;
    the summary called that folder, full of photos, "empty (a disk not mounted?)" and offered
    `--remove FOLDER`, which would forget every photo it holds."""
    folder = tmp_path / "2020"
    folder.mkdir()
    (folder / "f.jpg").write_bytes(b"x")
    text = format_report(IndexReport(folders=[str(tmp_path)], found=5, unchanged=5, kept={str(folder): 2},
                                     skipped={"unreadable": [str(folder / "g.jpg"), str(folder / "h.jpg")]}))
    assert (f"{folder}: 2 indexed photos could not be read now (a network disk gone stale?): they are kept "
            "and tried again on the next run") in text
    assert "empty" not in text and "--remove" not in text
    assert f"{folder}: 1 indexed photo could not be read now (a network disk gone stale?): it is kept" in format_report(
        IndexReport(folders=[str(tmp_path)], kept={str(folder): 1}))


def test_the_web_apps_re_index_line_counts_what_it_kept_and_left_unread():
    from webui.reindex import JobStatus

    report = IndexReport(folders=["/mnt/usb", "/home/me/Pictures"], unchanged=40, still_unreadable=2,
                         skipped={"truncated": ["/home/me/Pictures/half.jpg"]}, kept={"/mnt/usb": 1200})
    line = JobStatus(report=report).describe()
    assert "3 skipped" in line and "40 unchanged" in line
    assert "1200 photos kept of /mnt/usb, missing, empty or unreadable now (a disk not mounted, or its permissions?)" in line


def test_the_web_apps_re_index_says_the_metadata_only_edits_it_kept_as_the_indexer_does():
    """README: a photo whose metadata alone changed keeps its vector, and the summary says so; the
    web app's re-index said nothing of it (12 updated, nothing embedded, and no word why)."""
    from webui.reindex import JobStatus

    report = IndexReport(folders=["/p"], found=40, updated=12, metadata_kept=12, unchanged=28)
    said = "metadata changed, kept 12 vectors: their pictures did not change"
    assert f"  {said}" in format_report(report)
    assert f"12 updated, 0 moved, 0 removed, 0 skipped, 28 unchanged; {said}" in JobStatus(report=report).describe()
    one = IndexReport(folders=["/p"], found=2, updated=1, metadata_kept=1, unchanged=1)
    assert "; metadata changed, kept 1 vector: its picture did not change" in JobStatus(report=one).describe()
    assert "metadata" not in JobStatus(report=IndexReport(folders=["/p"], updated=3, embedded=3)).describe()


def test_the_indexer_and_the_web_apps_re_index_say_the_broken_photos_whose_records_stay():
    """An indexed photo that no longer reads (cut short by a sync, zeroed) keeps its record, and
    searches find it: both summaries say so, in words that fit the number, instead of "skipped"."""
    from webui.reindex import JobStatus

    one = IndexReport(folders=["/p"], unchanged=2, skipped={"truncated": ["/p/cut.jpg"]}, kept_unreadable=1)
    said = ("1 unreadable file was indexed before it stopped reading: the index keeps its earlier picture, which searches "
            "still find, until the file reads again (deleted, it leaves the index)")
    assert format_report(one).endswith(f"      /p/cut.jpg\n  {said}")
    assert f"\n\n{said}" in JobStatus(report=one).describe()
    dry = IndexReport(folders=["/p"], dry_run=True, still_unreadable=3, kept_unreadable=3)
    assert ("3 unreadable files were indexed before they stopped reading: the index would keep their earlier pictures, which "
            "searches still find, until the files read again (deleted, they leave the index)") in format_report(dry)
    assert "indexed before" not in format_report(IndexReport(folders=["/p"], still_unreadable=1))


def test_the_web_apps_re_index_lists_the_files_it_skipped_by_reason():
    from clipsearch import TextReport, VideoReport
    from webui.reindex import SHOW_SKIPPED, JobStatus

    bad = [f"/p/bad_{n}.jpg" for n in range(SHOW_SKIPPED + 2)]
    report = IndexReport(folders=["/p"], unchanged=40, still_unreadable=1,
                         skipped={"truncated": ["/p/*half*.jpg"], "not an image": bad})
    line = JobStatus(report=report, text_report=TextReport(skipped={"ocr error": ["/p/scan.png"]}),
                     video_report=VideoReport(videos=1, skipped={"not a video": ["/v/notes.mp4"]})).describe()
    assert "9 skipped" in line and "40 unchanged" in line
    shown = ", ".join(path.replace("_", "\\_") for path in bad[:SHOW_SKIPPED])  # as markdown, escaped
    assert ("\n\nSkipped, by reason:\n"
            f"- not an image ({SHOW_SKIPPED + 2}): {shown}, and 2 more (the server's log lists them)\n"
            "- truncated (1): /p/\\*half\\*.jpg") in line
    assert "1 unreadable skipped again without reading: unchanged since a run listed them (this page's or the indexer's)" in line
    assert "\n\nWords not read, by reason:\n- ocr error (1): /p/scan.png" in line
    assert "\n\nVideos skipped, by reason:\n- not a video (1): /v/notes.mp4" in line
    assert "by reason" not in JobStatus(report=IndexReport(folders=["/p"], unchanged=3)).describe()


def test_a_text_pass_says_how_many_photos_wait_for_their_disk():
    from clipsearch import TextReport
    from indexer.textreport import format_text_report

    text = format_text_report(TextReport(files=1200, already_read=1000, not_on_disk=200))
    assert "text: 200 photos not on disk now (a disk not mounted?): read when they are back" in text


def test_a_slow_scan_shows_how_many_files_it_found_so_far(tmp_path, monkeypatch, capsys):
    """A share over the network can take minutes to walk: the run says it is scanning, not nothing."""
    import itertools

    import clipsearch.images
    from clipsearch import IndexProgress
    from clipsearch.images import scan_images
    from indexer.report import ProgressPrinter

    for folder in range(4):
        for n in range(3):
            (tmp_path / f"f{folder}").mkdir(exist_ok=True)
            (tmp_path / f"f{folder}" / f"p{n}.jpg").write_bytes(b"x")
    ticks = itertools.count(0.0, 0.4)  # each look at the clock: 0.4 s later
    monkeypatch.setattr(clipsearch.images.time, "monotonic", lambda: next(ticks))
    heard = []
    assert len(scan_images([tmp_path], progress=heard.append).files) == 12
    assert heard and heard == sorted(heard) and heard[-1] <= 12 and len(heard) < 5  # every half second
    monkeypatch.undo()

    terminal = ProgressPrinter(enabled=True, tty=True)
    terminal.update(IndexProgress(found=1234, scanning=True, elapsed=0.5))
    terminal.close()
    assert capsys.readouterr().err == "\rscanning: 1,234 image files found\r\x1b[K"
    cron = ProgressPrinter(enabled=True, tty=False)
    cron.update(IndexProgress(found=50, scanning=True, elapsed=0.5))  # a quick scan: nothing
    cron.update(IndexProgress(found=90000, scanning=True, elapsed=16.0))
    assert capsys.readouterr().err == "scanning: 90,000 image files found so far\n"


def test_the_web_apps_re_index_line_counts_the_files_found_while_scanning():
    from clipsearch import IndexProgress
    from webui.reindex import JobStatus

    assert JobStatus(running=True).describe() == "Re-indexing: scanning folders..."
    assert JobStatus(running=True, progress=IndexProgress(found=5200, scanning=True)).describe() == (
        "Re-indexing: scanning folders... 5,200 image files found")


def test_the_videos_pass_is_summed_up_and_its_progress_logged_where_no_bar_can_be(capsys):
    from clipsearch import VideoProgress, VideoReport
    from indexer.videoreport import VideoProgressPrinter, format_video_report

    text = format_video_report(VideoReport(videos=3, read=2, reused=1, moments=9, seconds=125.0, elapsed=3.2,
                                           skipped={"not a video": ["/v/notes.mp4"]}, kept={"/mnt/cam": 4}))
    assert "videos: 3 found; read 2 (2:05 of video, 9 moments) in 3.2 s; 1 moved or copied kept their moments" in text
    assert "/mnt/cam is missing (a disk not mounted?): its 4 videos are kept" in text
    assert "not a video: 1" in text and "/v/notes.mp4" in text
    dry = format_video_report(VideoReport(dry_run=True, videos=3, left=1, reused=2, unchanged=0))
    assert "videos: 3 found; would read 1 (new or changed), 2 moved or copied would keep their moments, remove 0" in dry
    VideoProgressPrinter(enabled=True, tty=False).update(
        VideoProgress(to_read=4, read=1, moments=7, seconds=95, elapsed=2.0, current="/v/b.mp4"))
    assert "reading videos: 1/4 videos, 7 moments, 1:35 of video at 47.5x its speed" in capsys.readouterr().err


def test_a_dry_runs_summary_says_what_it_would_do_and_what_stays():
    text = format_report(IndexReport(folders=["/p"], found=60, added=2, unchanged=58, dry_run=True))
    assert "would add 2, update 0, move 0, remove 0; 58 unchanged" in text and "would be changed" not in text


def test_the_log_lines_rate_and_time_left_leave_out_the_first_batchs_wait(capsys, monkeypatch):
    # The first batch waits for the scan and the model (4 s here); the rest goes at 50 files/s.
    import indexer.report
    from clipsearch import IndexProgress
    from indexer.report import ProgressPrinter

    now = [100.0]
    monkeypatch.setattr(indexer.report.time, "monotonic", lambda: now[0])
    cron = ProgressPrinter(enabled=True, tty=False)
    cron.update(IndexProgress(found=2000, to_process=2000, processed=32, embedded=32, elapsed=4.0))
    now[0] = 116.0
    cron.update(IndexProgress(found=2000, to_process=2000, processed=832, embedded=832, elapsed=20.0))
    first, second = capsys.readouterr().err.splitlines()
    assert first == "indexing: 32/2000 new or changed files (2000 found), 32 embedded, 0 skipped"
    assert second.endswith(", 50.0 files/s, about 23 s left")  # (2000 - 832) / 50, not / 41.6 since the start


def test_a_run_that_only_removed_photos_does_not_speak_of_moved_files():
    removed = format_report(IndexReport(folders=["/p"], found=18, unchanged=18, removed=2))
    assert "removed 2" in removed and "moved and touched" not in removed
    assert "nothing to embed (nothing new), 0.0 s" in removed


def test_every_count_in_a_summary_fits_its_number(tmp_path):
    from clipsearch import TextReport, VideoReport
    from clipsearch.reports import counted
    from indexer.textreport import format_text_report
    from indexer.videoreport import format_video_report

    assert [counted(n, "photo") for n in (0, 1, 2)] == ["0 photos", "1 photo", "2 photos"]
    assert counted(1, "match", "matches") == "1 match" and counted(3, "match", "matches") == "3 matches"
    assert counted(12000, "image file", grouped=True) == "12,000 image files"
    gone = str(tmp_path / "usb-disk")
    one = format_report(IndexReport(folders=[gone], found=1, kept={gone: 1}))
    assert "1 image file found in" in one and "its 1 indexed photo is kept;" in one
    text = format_text_report(TextReport(read=1, with_text=1, not_on_disk=1))
    assert "text: read 1 photo (1 with words)" in text and "text: 1 photo not on disk now" in text
    videos = format_video_report(VideoReport(videos=1, read=1, moments=1, kept={gone: 1}))
    assert "1 moment)" in videos and "its 1 video is kept" in videos


def test_a_text_pass_counts_in_words_that_read_right():
    from clipsearch import TextReport
    from indexer.textreport import format_text_report

    one = format_text_report(TextReport(files=44, to_read=1, read=1, with_text=1, already_read=43, elapsed=0.9))
    assert one.startswith("  text: read 1 photo (1 with words) in 0.9 s")
    nothing = format_text_report(TextReport(files=44, already_read=44))
    assert nothing == "  text: nothing to read (44 already read)"  # not "read 0 photos ... 0.0 photos/s"


def test_the_terminal_bars_rate_counts_from_the_bar_not_the_files_done_before_it(capsys):
    """The first batch arrives after the scan and the model's load: the bar, made then, counted
    those files as done in no time (a first frame of 688,296 img/s). Its rate starts with it."""
    import re
    import time

    from clipsearch import IndexProgress
    from clipsearch.textpass import TextProgress
    from clipsearch.videopass import VideoProgress
    from indexer.report import ProgressPrinter
    from indexer.textreport import TextProgressPrinter
    from indexer.videoreport import VideoProgressPrinter

    passes = [(ProgressPrinter, lambda n: IndexProgress(found=300, to_process=300, processed=n, embedded=n)),
              (TextProgressPrinter, lambda n: TextProgress(to_read=300, read=n)),
              (VideoProgressPrinter, lambda n: VideoProgress(to_read=300, read=n))]
    for printer_kind, progress in passes:
        printer = printer_kind(enabled=True, tty=True)
        printer.update(progress(32))
        time.sleep(0.2)  # at least: 32 more in 0.2 s or more is 160 a second at most
        printer.update(progress(64))
        printer.close()
        frames = capsys.readouterr().err.split("\r")
        rates = [float(rate) for rate in re.findall(r"([\d.]+)(?:img|photo|video)s?/s", "".join(frames))]
        assert "32/300" in frames[1] and "?" in frames[1], (printer_kind, frames)  # no rate yet
        assert rates and max(rates) <= 160, (printer_kind, frames)


def test_a_run_warns_of_the_first_files_it_skips_then_leaves_the_rest_to_its_summary(caplog):
    """A folder of thousands of cloud placeholders (empty files) printed a warning a file as the run
    went: the first ``LIVE_SKIPS`` are said, then one line that the summary counts the rest; each
    of those is said with -v (at INFO), and the report keeps every path."""
    import logging

    from clipsearch.reports import LIVE_SKIPS

    report = IndexReport()
    with caplog.at_level(logging.INFO, logger="clipsearch.pipeline"):
        for n in range(LIVE_SKIPS + 30):
            report.skip(f"/photos/p{n}.jpg", "empty file")
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    told = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert warned[:LIVE_SKIPS] == [f"skipping /photos/p{n}.jpg: empty file" for n in range(LIVE_SKIPS)]
    assert len(warned) == LIVE_SKIPS + 1 and "summary" in warned[-1]
    assert told == [f"skipping /photos/p{n}.jpg: empty file" for n in range(LIVE_SKIPS, LIVE_SKIPS + 30)]
    assert report.skipped_count == LIVE_SKIPS + 30
    assert "... and 30 more (--json lists all)" in format_report(report)
