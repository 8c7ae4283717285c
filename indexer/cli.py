"""``python -m indexer``: argv -> Settings -> SearchEngine -> report.

Exit codes: 0 done (skipped files alone do not fail a run), 1 failed or interrupted (by SIGTERM or
SIGHUP too, before the run began), 2 usage error, 130 Ctrl-C before the run began or a second Ctrl-C
(quit at once), 143 a second SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
import threading
from pathlib import Path

from cli import flags
from cli.terminal import ArgumentParser, log_to_stderr, said, shown
from clipsearch import ClipSearchError, IndexNotFound, ModelSpec, SearchEngine, Settings
from clipsearch.config import DEFAULT_MODEL, DEFAULT_PRETRAINED, INDEX_ENV, default_index_dir
from clipsearch.dryrun import first_run, first_text_pass, first_video_pass
from clipsearch.errors import disk_full_note
from clipsearch.folders import as_covered
from clipsearch.reports import another_run_words, counted

from .lost_records import dry_run_words, warn_left_out
from .report import ProgressPrinter, format_report
from .stopping import Stopped, stop_early, stop_on_signals, stopped_before_later_passes
from .textreport import TextProgressPrinter, format_text_report
from .videoreport import VideoProgressPrinter, format_video_report

log = logging.getLogger("indexer")

INTERRUPTED = "interrupted: the index holds every batch finished so far; run again to resume"
STOPPED_EARLY = "stopped before the run began (while the model loaded): nothing was indexed"

EXAMPLES = f"""
examples:
  python -m indexer ~/Pictures                      index (or update) a folder
  python -m indexer ~/Pictures ~/Phone --json       two folders, one JSON summary for scripts
  python -m indexer                                 update every folder the index already has
  python -m indexer --remove ~/Phone                forget a folder
  python -m indexer ~/Pictures --watch              keep indexing as files appear or change
  python -m indexer --remove ~/Phone --watch        forget a folder, keep watching the others
  python -m indexer ~/demo-photos --model demo      the offline demo model (no download)
  python -m indexer ~/Pictures --ocr                also read the words in photos (remembered)
  python -m indexer ~/Pictures --videos             also search inside videos, by moment (remembered)

The index lives in --index, else ${INDEX_ENV}, else {default_index_dir(read_env=False)}.
The first run downloads the model ({DEFAULT_MODEL}, {DEFAULT_PRETRAINED}) once; later runs
reuse it, and an existing index always keeps the model it was built with.
Exit codes: 0 done (skipped files are reported, not failures), 1 failed or interrupted (SIGTERM
or a closed terminal's SIGHUP too, before the run began), 2 usage error, 130 Ctrl-C before the run
began or a second Ctrl-C (quit at once), 143 a second SIGTERM.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m indexer",
        description="Index photo folders for search by meaning. Re-runs are incremental: "
        "unchanged files cost a stat, moved files keep their vectors, deleted files leave.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("folders", nargs="*", type=flags.path, metavar="FOLDER",
                        help="folders to index (default: those the index already covers)")
    flags.add_index(parser)
    model = parser.add_argument_group("model (a new index only; an existing one keeps its own)")
    flags.add_model(model)
    flags.add_device(model)
    model.add_argument("--precision", choices=flags.PRECISIONS, default="auto",
                       help="default auto: fp16 on CUDA, bf16 on CPUs that run it natively, else fp32")
    flags.add_threads(model)
    run = parser.add_argument_group("run")
    run.add_argument("--batch-size", type=flags.positive, help="images per model call (default: sized for the device)")
    run.add_argument("--workers", type=flags.thread_count,
                     help="decoding threads (default: every core when the model runs on a GPU, else cores up to 4)")
    run.add_argument("--dry-run", action="store_true", help="only say what would change (reads headers; hashes possible moves and copies; writes "
                     "nothing and takes no lock: it runs beside another run, and says so)")
    run.add_argument("--watch", action="store_true", help="after indexing, keep watching and index changes "
                     "(with --remove and no FOLDER: the folders the index still covers)")
    run.add_argument("--remove", type=flags.path, action="append", default=[], metavar="FOLDER",
                     help="remove a folder (and everything under it) from the index")
    ocr = run.add_mutually_exclusive_group()
    ocr.add_argument("--ocr", dest="ocr", action="store_true", default=None,
                     help="read the words in photos too, so a search finds them (the index remembers "
                     "it; the reading runs after embedding and resumes if interrupted)")
    ocr.add_argument("--no-ocr", dest="ocr", action="store_false", help="stop reading words in photos")
    videos = run.add_mutually_exclusive_group()
    videos.add_argument("--videos", dest="videos", action="store_true", default=None,
                        help="read the videos in the folders too (a frame every 2 s, each distinct one a "
                        "moment a search finds; the index remembers it; runs after the photos, resumes if interrupted)")
    videos.add_argument("--no-videos", dest="videos", action="store_false", help="stop reading videos (their moments are kept)")
    run.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    run.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    scale = parser.add_argument_group("beyond one machine (pip install -r requirements-scale.txt)")
    scale.add_argument("--embedder", choices=["local", "ray"], default="local",
                       help="where new and changed files are decoded and embedded: here (default), "
                       "or on a Ray cluster through Ray Data (--watch updates still run here)")
    scale.add_argument("--engine", dest="embedder", choices=["local", "ray"], help=argparse.SUPPRESS)
    scale.add_argument("--ray-address", metavar="ADDR",
                       help="Ray cluster to join (auto, HOST:6379, ray://HOST:10001; default: a local Ray)")
    flags.add_store(scale, "where a new index keeps its vectors: hnsw in the index folder (default), "
                    "or Milvus; an existing index keeps its own")
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings for this run (the engine uses the index's own model when none is asked for)."""
    name = args.model or DEFAULT_MODEL
    pretrained = args.pretrained
    if pretrained is None and name == DEFAULT_MODEL and not args.weights:
        pretrained = DEFAULT_PRETRAINED
    if name == "demo" or name.startswith(("hf-hub:", "local-dir:")) or pretrained == "none":
        pretrained = None
    spec = ModelSpec(name=name, pretrained=pretrained, weights=args.weights, device=args.device,
                     precision=args.precision, threads=args.threads)
    return flags.settings_from(args, model=spec, batch_size=args.batch_size, workers=args.workers)


def model_asked(args: argparse.Namespace) -> bool:
    return bool(args.model or args.pretrained or args.weights)


@flags.ends_quietly
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    flags.paths_as_bytes()
    _setup_logging(args)
    _check_args(parser, args)
    stop_early()
    try:
        settings = settings_from_args(args)
        try:
            engine = _open(args, settings)
        except IndexNotFound:
            if args.dry_run and args.folders and not args.remove:
                return _first_dry_run(args, settings)
            if who := SearchEngine.writer_of(settings):  # a first run making it (its model loading): wait, as for a lock
                print(f"error: the index {shown(settings.index_dir)} is being made by {who}; wait for it to finish, "
                      "then retry", file=sys.stderr)
                return 1
            if args.remove:
                parser.error(f"there is no index at {settings.index_dir}: nothing to remove")
            parser.error(f"no folder given and there is no index at {settings.index_dir} yet: "
                         "name a FOLDER to index")
        if engine.lost_folders():  # made anew where the records were deleted by hand: the folders not named
            warn_left_out(settings, engine.lost_folders(), args.folders)
        try:
            return _run(parser, args, engine)
        finally:  # SQLite folds its write-ahead log back in: the index folder is whole files again
            engine.close()
    except Stopped:  # SIGTERM or SIGHUP while the model loaded: a new index is not left behind (for_writing)
        print(STOPPED_EARLY, file=sys.stderr)
        return 1
    except ClipSearchError as exc:
        print(f"error: {said(flags.explain(exc))}", file=sys.stderr)
        return 1
    except (OSError, sqlite3.Error) as exc:  # a full disk where no layer said so (the lock's pid, a folder list)
        if not disk_full_note(exc):
            raise
        print(f"error: could not write the index: {said(exc)}{disk_full_note(exc)}", file=sys.stderr)
        return 1


def _open(args: argparse.Namespace, settings: Settings) -> SearchEngine:
    """The engine of the run. --remove alone never makes an index (nor loads a model to make one),
    nor does a dry run. Where the records were deleted by hand, a run naming no folder takes the
    folders the index's manifest.json names, as it did before (``args.folders``)."""
    try:
        return SearchEngine.for_writing(settings, use_index_model=not model_asked(args),
                                        create=bool(args.folders) and not args.dry_run, dry_run=args.dry_run)
    except IndexNotFound:
        if args.folders or args.remove or not (kept := SearchEngine.remembered_folders(settings)):
            raise
        args.folders = [Path(folder) for folder in kept]
        return _open(args, settings)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, engine: SearchEngine) -> int:
    """Removes, then indexes (and watches) what ``args`` ask, with ``engine``: the exit code."""
    if args.ocr is not None and not args.dry_run:
        engine.set_text_reading(args.ocr)
    if args.videos is not None and not args.dry_run:
        engine.set_video_reading(args.videos)
    _check_removals(parser, args, engine)
    _check_missing(parser, args, engine)
    removed: dict[str, int] = {}  # folder -> the photos it forgot (would, in a dry run): in --json
    for folder in args.remove:
        count = removed[os.path.abspath(folder.expanduser())] = engine.remove_folder(folder.expanduser(), dry_run=args.dry_run)
        if args.dry_run:
            _say(args, f"dry run: would remove {counted(count, 'image')}{_videos_words(count)} under {shown(folder)}")
        else:
            _say(args, f"removed {counted(count, 'image')}{_videos_words(count)} under {shown(folder)}"
                 f"{shown(_removal_note(engine, folder, count))}")
    if args.remove and not args.folders and not args.watch:
        busy = {"another_run": who} if args.dry_run and (who := engine.writer_elsewhere()) else {}
        if args.json:  # a script asked for one JSON object: the removals are its summary
            print(flags.json_text({"removed_folders": removed, **_removed_videos(removed), "dry_run": args.dry_run}
                                  | busy), flush=True)
        elif busy:
            _say(args, another_run_words(busy["another_run"]))
        return 0  # with --watch, the folders left are brought up to date and watched, as `--watch` alone does
    folders = [f.expanduser() for f in args.folders] or engine.folders()
    if not folders:
        parser.error(_no_folder(engine))
    stop = stop_on_signals()
    report = _index(engine, folders, args, stop, removed)
    if args.watch and not report.interrupted:
        from .watch import watch_folders

        if watch_folders(engine, folders, stop, lambda r, videos=None: _print_report(r, args, videos=videos),
                         ignore=[Path(engine.settings.cache_dir) / "thumbs", engine.settings.index_dir], covered=engine.folders):
            print(INTERRUPTED, file=sys.stderr)  # stopped mid-pass: files wait for the next run
            return 1
        return 0
    return 1 if report.interrupted else 0


def _first_dry_run(args: argparse.Namespace, settings: Settings) -> int:
    """``--dry-run`` where there is no index yet: what a first run would add, nothing created."""
    folders = [f.expanduser() for f in args.folders]
    report = first_run(folders, settings.max_pixels, SearchEngine.remembered_folders(settings, "left_out"))
    report.another_run = SearchEngine.writer_of(settings)  # a first run making it now: said, in --json too
    text = first_text_pass(report) if args.ocr else None
    if lost := SearchEngine.remembered_folders(settings):  # records deleted by hand: what a real run would do
        warn_left_out(settings, lost, folders, dry_run=True)
    _print_report(report, args, text, videos=first_video_pass(folders, bool(args.ocr)) if args.videos else None)
    making = f" (another run is making it now: {report.another_run})" if report.another_run else ""
    _say(args, dry_run_words(settings, folders, model_asked(args)) if lost else
         f"no index in {shown(settings.index_dir)} yet{making}: nothing was created")
    return 0


def _videos_words(removal: int) -> str:
    """The videos a removal forgot (``FolderRemoval``), beside its images: nothing where none."""
    videos = getattr(removal, "videos", None)
    return f" and {counted(videos, 'video')} ({counted(removal.moments, 'moment')})" if videos else ""


def _removed_videos(removed: dict[str, int]) -> dict:
    """``{"removed_videos": {folder: {"videos": n, "moments": m}}}`` for --json where the index has
    a video store (``removed_folders`` counts the photos alone); else nothing."""
    videos = {folder: {"videos": count.videos, "moments": count.moments}
              for folder, count in removed.items() if getattr(count, "videos", None) is not None}
    return {"removed_videos": videos} if videos else {}


def _removal_note(engine: SearchEngine, folder: Path, count: int) -> str:
    """What a removal means for later runs: a folder inside a covered one stays out of them."""
    info = engine.info()
    spelled = as_covered(os.path.abspath(folder.expanduser()), info["folders"] + info.get("left_out", []), quiet=True)
    if spelled in info.get("left_out", []):
        return f"; later runs leave it out (index {folder} by name to bring it back)"
    return "" if count else f" (the index covers {', '.join(info['folders']) or 'no folder'})"


def _no_folder(engine: SearchEngine) -> str:
    """Why a run that names no folder (cron's) has nothing to do: the index covers none, because
    each one it covered was removed (it has run before), or because none was indexed yet."""
    info = engine.info()
    if info.get("last_indexed") or info.get("last_checked"):
        return ("no folder given and the index covers no folder now (each one it covered was removed): "
                "name a FOLDER to index it")
    return "no folder given and the index covers none yet: name a FOLDER to index"


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors the parser cannot see alone (exit 2)."""
    for folder in args.folders:
        if not folder.expanduser().exists():
            if args.watch:
                continue  # one the index covers, its disk unplugged, is watched once back (_check_missing)
            parser.error(f"folder not found: {folder}")
        if not folder.expanduser().is_dir():
            parser.error(f"not a folder: {folder}")
    _check_not_the_index(parser, args)
    if args.watch and args.dry_run:
        parser.error("--watch and --dry-run do not go together")
    if args.ray_address and args.embedder != "ray":
        parser.error("--ray-address needs --embedder ray")
    flags.check_store(parser, args)
    flags.check_pretrained(parser, args)


def _check_missing(parser: argparse.ArgumentParser, args: argparse.Namespace, engine: SearchEngine) -> None:
    """With ``--watch``, a FOLDER that is not there must be one the index covers (a USB disk not
    plugged in: looked for every 5 s and indexed once back, its photos kept meanwhile); any other is
    the usage error a run without ``--watch`` gives (``_check_args``)."""
    covered = engine.folders()
    for folder in args.folders:
        where = os.path.abspath(folder.expanduser())
        if not os.path.exists(where) and as_covered(where, covered, quiet=True) not in covered:
            parser.error(f"folder not found: {folder}")


def _check_removals(parser: argparse.ArgumentParser, args: argparse.Namespace, engine: SearchEngine) -> None:
    """A usage error (exit 2) for a ``--remove`` that names a file, said before anything is removed:
    it takes folders, and a photo's name matched none of its photos while it was recorded as left
    out of later runs, which still indexed it. A file left where a folder the index holds was (its
    disk unmounted) is that folder: removed as asked."""
    for folder in args.remove:
        where = folder.expanduser()
        if (where.exists() and not where.is_dir() and os.path.abspath(where) not in engine.info()["folders"]
                and not engine.remove_folder(where, dry_run=True)):
            parser.error(f"--remove takes a folder: {folder} is a file (a photo leaves the index when "
                         "its file is deleted, or its folder removed)")


def _check_not_the_index(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A usage error (exit 2) for a FOLDER that is the index folder, or a folder inside it: its files
    are the index's own, not photos, and the index would record itself as a covered folder. The
    index folder inside a photo folder is a layout of its own (the scan leaves it out)."""
    index = os.path.realpath(flags.settings_from(args).index_dir)
    for folder in args.folders:
        where = os.path.realpath(folder.expanduser())
        if where == index:
            parser.error(f"{folder} is the index folder, not a folder of photos: name your photos' folder "
                         "(the index may be kept inside it: --index PHOTOS/clipsearch-index)")
        if os.path.commonpath([where, index]) == index:
            parser.error(f"{folder} is inside the index folder {index}: name a folder of your photos, or give "
                         "the index another folder with --index")


def _index(engine: SearchEngine, folders, args, stop: threading.Event, removed: dict[str, int] | None = None):
    printer = ProgressPrinter(enabled=not (args.quiet or args.json), tty=sys.stderr.isatty())
    try:
        embedder = None
        if args.embedder == "ray":
            from clipsearch.distributed import ray_embedder

            embedder = ray_embedder(engine, address=args.ray_address)
        report = engine.index_folder(folders, dry_run=args.dry_run, progress=printer.update, should_stop=stop.is_set,
                                     embedder=embedder, removing=[f.expanduser() for f in args.remove])
    finally:
        printer.close()
    if not args.dry_run and stopped_before_later_passes(engine, stop):
        report.interrupted = True
    text = videos = None
    if args.dry_run and (args.ocr or (args.ocr is None and engine.text.enabled)):  # what it would read
        text = engine.texts_to_read(new=report.embedded)  # a kept or reused content's words are read
    elif not (report.interrupted or args.dry_run):
        text = _after_photos(engine.read_texts, TextProgressPrinter, args, stop)
        report.interrupted = bool(text and text.interrupted)
    if args.dry_run and (args.videos or (args.videos is None and engine.videos.enabled)):  # what it would read
        videos = engine.read_videos(dry_run=True, folders=folders, removing=[f.expanduser() for f in args.remove],
                                    words=args.ocr)
    elif not (report.interrupted or args.dry_run):
        videos = _after_photos(engine.read_videos, VideoProgressPrinter, args, stop)
        report.interrupted = bool(videos and videos.interrupted)
    _print_report(report, args, text, videos, removed)
    if report.interrupted:
        print(INTERRUPTED, file=sys.stderr)
    return report


def _after_photos(read, printer_kind, args, stop: threading.Event):
    """A pass after the photos' (``engine.read_texts`` with ``--ocr``, ``read_videos`` with
    ``--videos``; None when the index does not run it), with its progress printer."""
    printer = printer_kind(enabled=not (args.quiet or args.json), tty=sys.stderr.isatty())
    try:
        return read(progress=printer.update, should_stop=stop.is_set)
    finally:
        printer.close()


def _print_report(report, args, text=None, videos=None, removed=None) -> None:
    if args.json:
        out = report.to_dict() | ({"removed_folders": removed, **_removed_videos(removed)} if removed else {})
        for key, part in (("text", text), ("videos", videos)):
            if part is not None:
                out[key] = part.to_dict()
        print(flags.json_text(out), flush=True)
    elif not args.quiet:
        print("\n".join([format_report(report, videos=videos is not None, index=args.index)] + ([format_text_report(text)] if text is not None else [])
                        + ([format_video_report(videos)] if videos is not None else [])), flush=True)


def _setup_logging(args) -> None:
    level = logging.DEBUG if args.verbose else logging.WARNING
    log_to_stderr(level)  # "skipping PATH: reason" as the run goes: on a terminal, the name shown
    # Libraries' warnings (Pillow's "Corrupt EXIF data" for a photo it reads all the same) name no
    # file and change nothing the summary says: shown with -v only.
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.DEBUG if args.verbose else logging.ERROR)
    if not args.verbose:  # open_clip logs its loading steps on the root logger
        logging.getLogger().setLevel(logging.WARNING)
        for name in ("clipsearch.pipeline", "clipsearch.textpass", "clipsearch.videopass"):
            logging.getLogger(name).setLevel(logging.ERROR if args.quiet else logging.WARNING)


def _say(args, text: str) -> None:
    if not args.quiet and not args.json:
        print(text)
