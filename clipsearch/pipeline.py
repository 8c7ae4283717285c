"""Indexing: scan folders, work out what changed, embed only that, commit in batches.

Decoding runs in a thread pool (Pillow releases the GIL while it decodes) that stays a window
ahead of the model, which runs in the calling thread; JPEGs are decoded at reduced scale. Every
batch is committed to the store as it completes, so an interrupted run loses at most the batch in
flight and the next run resumes where it stopped. Files whose content the index already has (a
rename, a move, a copy) reuse the stored vector instead of being embedded again, and so do files
whose metadata alone changed (``picture_fingerprint``: a JPEG's, PNG's, WebP's, HEIC's, AVIF's or TIFF's ratings, keywords, date).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from . import file_identity, file_links, mount_points, unreadable_files
from .classify import FileClassifying
from .decoding import InspectedFile, LocalDecoder
from .dryrun import count_changes
from .encoders.base import Encoder
from .folders import (
    as_covered,
    brought_back,
    deleted_inside,
    keep_links_into_missing,
    keep_missing_folders,
    known_under,
    other_spellings,
    walkable,
)
from .images import FileStat, scan_images
from .picture_fingerprint import pictures_before
from .reports import IndexProgress, IndexReport
from .stores.base import WriteBatch, check_stamp

log = logging.getLogger(__name__)

SAVE_EVERY_SECONDS = 600.0  # snapshot the graph this often during long runs


class FileEmbedder(Protocol):
    """Hashes and decodes files (and may embed them) for the ``IndexingPipeline``.

    Gets the new or changed files and the fingerprints the store already has; yields, in any
    order, one ``inspect_file`` result per file: with ``vector`` set when it embedded the file
    itself, with ``prepared`` set when the pipeline's model should embed it, with neither when
    the fingerprint is reusable (the pipeline reuses the stored vector), or with ``error``.
    ``LocalDecoder`` (threads here) is the default; ``distributed.RayEmbedder`` runs on Ray.
    """

    def embed_files(self, files: list[FileStat], reusable: set[str]) -> Iterator[InspectedFile]: ...


@dataclass
class _RunState:
    """Everything one run carries between files: what is known, what is pending, the counts."""

    report: IndexReport
    progress: IndexProgress
    known: dict[str, tuple[int, int, str]]  # path -> (size, mtime_ns, fingerprint) in the store
    reusable: set[str]  # every fingerprint the store has a vector for
    vanished_by_fp: dict[str, list[str]]  # fingerprint -> indexed paths no longer on disk
    started: float
    last_save: float
    keeps_ids: bool = False  # the store keeps each record's file id (inode, ctime)
    pictures: dict[str, str] | None = None  # path -> its record's picture fingerprint; None: none kept
    read_pictures: list[tuple[str, str]] = field(default_factory=list)  # (fingerprint, picture) to record
    kept: list[tuple[str, str]] = field(default_factory=list)  # (old, new) contents of one picture, in ``batch``
    stats: dict[str, FileStat] = field(default_factory=dict)  # the files read, as read: their ids
    renamed_from: set[str] = field(default_factory=set)
    run_vectors: dict[str, np.ndarray] = field(default_factory=dict)  # embedded in this run
    batch: WriteBatch = field(default_factory=WriteBatch)
    embeds: list[InspectedFile] = field(default_factory=list)  # waiting for the model
    twins: list[InspectedFile] = field(default_factory=list)  # same content as an item in ``embeds``
    model_checked: bool = False  # the encoder loaded and found to be the index's model
    decoder: LocalDecoder | None = None  # the local threads, when they decode for this run

    def count(self, counter: str) -> None:
        setattr(self.report, counter, getattr(self.report, counter) + 1)


class IndexingPipeline(FileClassifying):
    """Brings a store up to date with some folders: scan, diff, decode, embed, commit.

    Scanning, diffing, moves, reuse and commits happen here (what each file is, in ``classify``);
    hashing and decoding (and, for a distributed ``embedder``, embedding) in the ``FileEmbedder``.
    """

    def __init__(
        self,
        encoder: Encoder,
        store,
        *,
        batch_size: int | None = None,
        workers: int | None = None,
        file_timeout: float = 60.0,
        max_pixels: int | None = None,
        progress: Callable[[IndexProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        embedder: FileEmbedder | None = None,
        unreadable: unreadable_files.Entries | None = None,
        index_dir: str | os.PathLike | None = None,
        exclude: Iterable[str] = (),
        carry: Callable[[list[tuple[str, str]]], None] | None = None,
    ) -> None:
        self.encoder = encoder
        self.exclude = list(exclude)  # folders of this program's own (the thumbnail cache): never photos
        self.embedder = embedder
        # path -> (size, mtime_ns, reason) of files skipped for a lasting reason in an earlier run
        # of this process (a watcher's passes, the web app's re-index): not read again until changed
        self.unreadable = {} if unreadable is None else unreadable
        self.index_dir = index_dir  # where the names of one file are kept (file_links), if anywhere
        self.store = store
        self.carry = carry  # given (old, new) contents of one picture, before their records: what was read goes on
        self._batch_size = batch_size  # None: the encoder's choice (asked only when needed)
        self._workers = workers  # None: sized for the machine and the model's device (asked when needed)
        self.file_timeout = file_timeout
        self.max_pixels = max_pixels
        self.progress = progress
        self.should_stop = should_stop or (lambda: False)

    @property
    def batch_size(self) -> int:
        return self._batch_size or self.encoder.batch_size

    @property
    def workers(self) -> int:
        return self._workers or default_workers(self.encoder)

    def run(self, folders: Iterable[str], *, dry_run: bool = False, another_run: str | None = None) -> IndexReport:
        """Bring the store up to date with ``folders`` (``dry_run``: count, beside ``another_run``)."""
        started = time.monotonic()
        covered = (info := self.store.info()).get("folders", [])
        folders = [as_covered(os.path.abspath(os.fspath(f)), covered) for f in folders]
        outside = brought_back(info, folders)  # folders removed by name inside covered ones stay out
        report = IndexReport(folders=folders, dry_run=dry_run, another_run=another_run)
        if not dry_run:
            self._cover_new(covered, folders, outside)
        scanning = (lambda found: self.progress(IndexProgress(found=found, elapsed=time.monotonic() - started,
                                                              scanning=True))) if self.progress else None
        scan = scan_images(walkable(folders, covered), exclude=[getattr(self.store, "folder", ""), *self.exclude, *outside],
                           progress=scanning)
        report.found, report.other_files = len(scan.files), dict(scan.others.most_common(5))
        # Another spelling of a folder of this run, left by a release before as_covered: its
        # records are this run's photos twice, so they count as vanished (a move, or removed).
        aliases = other_spellings(covered, folders)
        states = self.store.file_states()
        known = keep_missing_folders(known_under(states, folders + aliases), folders, scan, report)
        mounts = mount_points.load(self.index_dir)
        known = mount_points.keep_unmounted(known, folders, scan, mounts, report)
        known = keep_links_into_missing(known, scan, report)
        # a folder or file the OS refused (or failed to read) is no folder deleted: its photos stay
        known = keep_refused(known, scan.errors, report)
        refused = refused_paths(scan.errors)
        deleted = deleted_inside(folders, report)
        errors, report.still_unreadable, links = unreadable_files.sort_out_links(  # a broken link: said once
            scan.errors, self.unreadable, None if dry_run else self.unreadable.__setitem__)
        for path, reason in errors:  # a kept folder's absence is said once, a deleted one's by its photos
            if reason != "vanished" or (path not in report.kept and path not in deleted):
                report.skip(path, reason)
        on_disk = {f.path for f in scan.files}
        for stale in [p for p in known_under(self.unreadable, folders) if p not in on_disk and p not in links
                      and not refused_holder(p, refused)]:
            del self.unreadable[stale]
        file_ids = getattr(self.store, "file_ids", None)  # None: a store that keeps none
        todo, unseen = self._diff(scan.files, known, file_ids() if file_ids else None, report)
        vanished = {p: known[p][2] for p in known if p not in on_disk}
        pictures = pictures_before(self.store, todo, known)
        if dry_run:
            count_changes(todo, known, vanished, report, self.max_pixels, pictures, states)
            report.elapsed = time.monotonic() - started
            return report
        if unseen:
            self.store.write(WriteBatch(file_ids=unseen))
        file_links.record(self.index_dir, scan.links, states.keys() - vanished.keys(), on_disk)
        mount_points.record(self.index_dir, scan, folders, mounts, report.kept)
        state = _RunState(report, IndexProgress(found=report.found, to_process=len(todo)), known,
                          {fp for _, _, fp in states.values()} | set((pictures or {}).values()),
                          _by_fingerprint(vanished), started, started, keeps_ids=file_ids is not None,
                          pictures=pictures)
        if todo:
            # The model loads only for a file that needs it. Where every file has the size of one
            # indexed (moved, touched, copied) or a picture known (its metadata edited, perhaps), it
            # waits for one whose content is new: a run of those alone never loads it. Otherwise it
            # loads now, and the threads decode.
            sizes = {size for size, _, _ in states.values()}
            if self.embedder is not None or any(stat.size not in sizes and stat.path not in (pictures or {})
                                                for stat in todo):
                self._use_model(state)
            self._process(todo, state)
        if not report.interrupted:
            gone = [p for p in vanished if p not in state.renamed_from]
            if gone:
                self.store.write(WriteBatch(delete=gone))
            report.removed = len(gone)
        gone = set(aliases + deleted) if not report.interrupted else set()
        self.store.set_folders([f for f in covered + folders if f not in gone], outside)
        self.store.save()
        report.elapsed = time.monotonic() - started
        return report

    def _diff(self, files: list[FileStat], known: dict[str, tuple[int, int, str]],
              ids: dict[str, tuple[int, int]] | None, report: IndexReport) -> tuple[list[FileStat], list]:
        """The files to read: new, changed, or with the size and time of the file the index read but
        not its file id (inode, ctime: replaced by ``rsync -t``, ``cp --preserve``, a restore; or
        only copied, moved to another disk, chmod-ed): their content decides, but where nearly a
        whole disk's changed at once (mounted again: ``file_identity``). And the file ids to
        record for the unchanged files the index has none for (an index of a release before)."""
        todo, unseen, other_ids, same_ids = [], [], [], []
        for stat in files:
            state = known.get(stat.path)
            if state and state[0] == stat.size and state[1] == stat.mtime_ns:
                seen = (stat.ino, stat.ctime_ns) if ids is None else ids.get(stat.path)
                if seen is None:  # trusted on size and time, as before file ids, once
                    unseen.append((stat.path, stat.ino, stat.ctime_ns))
                elif seen[0] != stat.ino or seen[1] != stat.ctime_ns:
                    other_ids.append(stat)
                    continue
                same_ids.append(stat)
                report.unchanged += 1
            elif unreadable_files.still(self.unreadable, stat):
                report.still_unreadable += 1
                report.kept_unreadable += state is not None  # indexed before it broke: its record stays
            else:
                todo.append(stat)
        to_hash, renumbered = file_identity.replaced(other_ids, same_ids)  # a disk mounted again: trusted
        report.unchanged += len(renumbered)
        return todo + to_hash, unseen + [(s.path, s.ino, s.ctime_ns) for s in renumbered]

    def _cover_new(self, covered: list[str], folders: list[str], outside: list[str]) -> None:
        """Record a new folder as covered before the scan (a long walk on a network share) and its
        first batch, not only when the run ends: after a first run killed (``kill -9``, a power
        cut), a run that names no folder (cron's) goes on. Its photos are none of the index's yet:
        a run over it that stopped early leaves nothing to take for removed."""
        if any(f not in covered for f in folders):
            self.store.set_folders(covered + [f for f in folders if f not in covered], outside)

    # --- the one loop --------------------------------------------------------------------------
    def _process(self, todo: list[FileStat], state: _RunState) -> None:
        if self.embedder is None:
            decode = state.model_checked
            state.decoder = LocalDecoder(self.encoder, *self._threads(decode), self.file_timeout,
                                         self.max_pixels, decode=decode)
        items = (self.embedder or state.decoder).embed_files(todo, state.reusable)
        progress = state.progress
        try:
            for item in items:
                self._classify(item, state)
                progress.processed += 1
                if self._batch_full(state):
                    self._commit(state)
                    if progress.processed < progress.to_process and self.should_stop():
                        state.report.interrupted = True
                        break
        finally:
            getattr(items, "close", lambda: None)()  # stop the decoders or remote work on an early exit
        self._commit(state)

    def _batch_full(self, state: _RunState) -> bool:
        """The model's batch is full, or four batches of records wait (a CPU's before it loads)."""
        size = self.batch_size if state.model_checked else self._batch_size or 32
        return len(state.embeds) >= size or len(state.batch) >= 4 * size

    def _use_model(self, state: _RunState) -> None:
        """Load the model (once a run) and check it is the index's; the threads decode from now."""
        if not state.model_checked:
            check_stamp(self.store.stamp, self.encoder.stamp, getattr(self.store, "folder", "the index"))
            state.model_checked = True
        if state.decoder is not None and not state.decoder.decode:
            state.decoder.start_decoding(*self._threads(True))

    def _threads(self, decode: bool) -> tuple[int, int]:
        """Local threads, and the window of files they keep ahead: sized for the model's device when
        they decode; as on a CPU while they only hash (the model not loaded, torch not imported)."""
        workers = self._workers or default_workers(self.encoder if decode else None)
        return workers, workers * 4 + (self.batch_size if decode else 0)

    def _commit(self, state: _RunState) -> None:
        """Embed what waits for the model, write the batch, report progress, snapshot now and then."""
        if state.embeds:
            vectors = self.encoder.embed_prepared([item.prepared for item in state.embeds])
            for item, vector in zip(state.embeds, vectors):
                state.run_vectors.setdefault(item.fingerprint, vector)
                state.batch.put.append((item.record(), vector))
                item.prepared = None
            state.report.embedded += len(state.embeds)
        for twin in state.twins:
            state.batch.put.append((twin.record(), state.run_vectors[twin.fingerprint]))
        if state.keeps_ids:
            state.batch.file_ids = _file_ids(state.batch, state.stats)
        state.batch.pictures, state.read_pictures = state.read_pictures, []
        if state.kept and self.carry:  # their words and pixel signatures, under their new contents first
            self.carry(state.kept)
        if len(state.batch) or state.batch.pictures:
            self.store.write(state.batch)
        state.batch, state.embeds, state.twins, state.kept = WriteBatch(), [], [], []
        progress = state.progress
        progress.embedded = state.report.embedded
        progress.skipped = state.report.skipped_count
        progress.elapsed = time.monotonic() - state.started
        if self.progress:
            self.progress(progress)
        if time.monotonic() - state.last_save > SAVE_EVERY_SECONDS:
            self.store.save()
            state.last_save = time.monotonic()


Indexer = IndexingPipeline  # the name of earlier releases


# What the scan could not look at (a folder the OS will not list, ``chmod 000``; one it lists but
# whose files it will not ``stat``, ``r`` without ``x``; one that fails to read, EIO or ENOTCONN from
# a stale network or FUSE mount; a file whose ``stat`` was refused) is no folder or file deleted: a
# run that took its photos (or a pass its videos) for vanished removed them, and once they read
# again embedded them all again. Their records stay, as a folder's gone or empty do
# (``folders.keep_missing_folders``), the scan's error saying why; what was deleted (``vanished``) leaves.
REFUSED = frozenset({"permission denied", "unreadable"})


def refused_paths(errors: Iterable[tuple[str, str]]) -> list[str]:
    """The paths of a scan's ``errors`` that are there but were refused or failed to read (the scan's
    reasons, ``images.os_reason``, in ``REFUSED``)."""
    return [path for path, reason in errors if reason in REFUSED]


def refused_holder(path: str, refused: Iterable[str]) -> str | None:
    """The path of ``refused`` (``refused_paths``) that ``path`` is, or is under (None: none is)."""
    return next((r for r in refused if path == r or path.startswith(os.path.join(r, ""))), None)


def keep_refused(known: dict, errors: Iterable[tuple[str, str]], report: IndexReport) -> dict:
    """``known`` less the photos the scan could not look at, which keep their records as a folder's
    gone or empty do (``report.kept``: folder -> photos, which the summary says, and ``--remove``
    forgets): those of a folder refused, and files refused themselves (their ``stat``: a folder the
    OS lists but will not look into, ``r`` without ``x``), counted under their folder. Not among
    ``kept_unreadable``, the files that broke, which ``info`` names from ``unreadable.json``: a
    refusal is tried again every pass."""
    paths = refused_paths(errors)
    if not paths:
        return known
    files = {p for p in paths if p in known}
    folders = [p for p in paths if p not in files]
    prefixes = tuple(os.path.join(f, "") for f in folders)
    held: dict[str, int] = {}
    out = {}
    for path, state in known.items():
        if path in files:
            folder = os.path.dirname(path)
        elif prefixes and path.startswith(prefixes):
            folder = refused_holder(path, folders) or ""
        else:
            out[path] = state
            continue
        held[folder] = held.get(folder, 0) + 1
    for folder, count in held.items():
        report.kept[folder] = report.kept.get(folder, 0) + count
        log.info("%s could not be read: its %d indexed photos are kept", folder, count)
    return out


def default_workers(encoder: Encoder | None) -> int:
    """Decode threads: every core when the model runs on a GPU, whose work leaves the cores free
    (on an H200 with 16 cores: 67 images/s with 4, 150 with 16); else as many as there are cores, at
    most 4, since the model needs them too. No ``encoder`` (threads that only hash): as on a CPU."""
    cores = os.cpu_count() or 2
    on_accelerator = getattr(encoder, "device", "cpu") in ("cuda", "mps")  # not part of the protocol
    return cores if on_accelerator else min(4, cores)


def _file_ids(batch: WriteBatch, stats: dict[str, FileStat]) -> list[tuple[str, int, int]]:
    """The file ids (path, inode, ctime) of the records a batch writes, as their files were read."""
    paths = [r.path for r, _ in batch.put] + [r.path for _, r in batch.rename] + [r.path for r in batch.update]
    return [(p, stat.ino, stat.ctime_ns) for p in paths if (stat := stats.pop(p, None)) and stat.ino]


def _by_fingerprint(paths: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, fp in paths.items():
        out.setdefault(fp, []).append(path)
    return out
