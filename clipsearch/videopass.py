"""The video pass: the videos in the index's folders read into moments (``--videos``).

Its own pass after ``index_folder``, under the index's lock, like reading words (``textpass``):
photo search works before it ends. A video is sampled one frame every ``MOMENT_EVERY`` seconds
(``video_frames.read_video``: keyframes only where they are that dense, the cheap way), each frame
embedded as a photo would be, and a frame that adds nothing to the one kept before it (cosine
``SAME_SHOT`` or more: a still shot, a slow pan) is left out, so a minute of one scene is one
moment and a busy minute thirty.

Videos are keyed by content (a streamed BLAKE2b of the file): a moved, copied or touched video
keeps its moments without a frame decoded. Each video is one transaction (``VideoIndex.put``):
Ctrl-C or a crash keeps every video finished. A video that cannot be read is reported with its
reason and remembered until its file changes; one read before it broke keeps its moments meanwhile
(``kept_unreadable``), as a photo keeps its record. A folder that is gone or empty (a disk not
mounted), a disk not mounted inside a covered folder (``mount_points``), or a folder the OS
refused, keeps its videos.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import file_identity, mount_points, unreadable_files
from .encoders.base import Encoder
from .errors import UnreadableImage
from .folders import is_there, walkable
from .image_formats import is_video_name
from .images import FileStat, os_reason, scan_images
from .pipeline import refused_holder, refused_paths
from .stores.base import sort_date, stamp_differences
from .videoindex import VideoIndex, VideoRecord

log = logging.getLogger(__name__)

MOMENT_EVERY = 2.0  # seconds between sampled frames
MAX_MOMENTS = 1800  # frames sampled from one video at most (an hour at MOMENT_EVERY; longer ones sparser)
SAME_SHOT = 0.95  # a frame this close (cosine) to the moment kept before it adds nothing
VIDEO_TIMEOUT = 60.0  # seconds a video's decoding may read nothing before it is skipped as "timed out"
_HASH_CHUNK = 1 << 20


@dataclass
class VideoProgress:
    """Where a video pass is; handed to the progress callback after every video."""

    to_read: int = 0
    read: int = 0
    skipped: int = 0
    moments: int = 0
    seconds: float = 0.0  # of video read
    elapsed: float = 0.0
    current: str = ""  # the video being read
    words: int = 0  # moments whose words were read, after the videos (``videowords``, with ``--ocr``)

    @property
    def rate(self) -> float:
        """Seconds of video read per second."""
        return self.seconds / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class VideoReport:
    """What one video pass did."""

    videos: int = 0  # video files found in the folders
    read: int = 0  # decoded and embedded
    reused: int = 0  # a content already read (moved, copied, touched): no frame decoded
    unchanged: int = 0
    removed: int = 0  # videos deleted (not those moved: their content is ``reused``)
    moments: int = 0  # moments added
    seconds: float = 0.0  # of video read
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> paths
    still_unreadable: int = 0  # could not be read before, and unchanged since: not tried again
    kept_unreadable: int = 0  # of the skipped and still unreadable, those read before they broke: moments kept
    kept: dict[str, int] = field(default_factory=dict)  # folder gone or empty -> its videos, kept
    left: int = 0  # still to read (an interrupted pass)
    elapsed: float = 0.0
    interrupted: bool = False
    dry_run: bool = False  # nothing read or written: ``left`` would be read, ``removed`` would leave
    words: Any = None  # the moments' words read after (``videowords.WordsReport``), with ``--ocr``

    @property
    def skipped_count(self) -> int:
        return sum(len(paths) for paths in self.skipped.values())

    def skip(self, path: str, reason: str) -> None:
        log.warning("skipping %s (video): %s", path, reason)
        self.skipped.setdefault(reason, []).append(path)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "skipped_count": self.skipped_count, "seconds": round(self.seconds, 1),
                "elapsed": round(self.elapsed, 3)}


def fingerprint_file(path: str) -> str:
    """The content fingerprint of a file of any size, read in chunks (BLAKE2b, 128 bits, hex: the
    same as ``images.fingerprint_bytes`` of its bytes)."""
    digest = hashlib.blake2b(digest_size=16)
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise UnreadableImage(path, os_reason(exc), str(exc.strerror or exc)) from None
    return digest.hexdigest()


def distinct_moments(times: list[float], vectors: np.ndarray, same: float = SAME_SHOT,
                     kept: list[tuple[float, np.ndarray]] | None = None) -> list[tuple[float, np.ndarray]]:
    """The moments worth keeping: the first frame, then each frame less like the last kept one than
    ``same``; ``kept``, those kept from the frames before (extended in place)."""
    kept = [] if kept is None else kept
    for t, vector in zip(times, vectors):
        if not kept or float(np.dot(kept[-1][1], vector)) < same:
            kept.append((t, vector))
    return kept


class VideoPass:
    """One pass over the videos of some folders, into one ``VideoIndex``, with one encoder."""

    def __init__(self, index: VideoIndex, encoder: Encoder, *, every: float = MOMENT_EVERY,
                 timeout: float = VIDEO_TIMEOUT, progress: Callable[[VideoProgress], None] | None = None,
                 should_stop: Callable[[], bool] | None = None, known_stamp: dict[str, Any] | None = None,
                 mounts: Collection[str] = ()) -> None:
        """``known_stamp``: the model stamp the photos of the index were embedded with; moments of
        that very stamp need no model loaded to know they are the encoder's (a pass that finds
        nothing new loads none: importing torch alone takes seconds). ``mounts``: the mount points
        the photos' runs remember (``mount_points.load``), beside those the video store does."""
        self.index, self.encoder, self.every, self.timeout = index, encoder, every, timeout
        self.known_stamp, self.mounts = known_stamp, set(mounts)
        self.progress = progress
        self.should_stop = should_stop or (lambda: False)

    def run(self, folders: list[str], exclude: list[str], dry_run: bool = False) -> VideoReport:
        """Bring the video index up to date with the videos under ``folders`` (less ``exclude``);
        ``dry_run``: only say what that would read and remove (nothing decoded or written; only
        a video that may be a copy, a move or a touch is hashed: ``_reusable``). Only the videos
        under ``folders`` may leave: the index's others are no business of this pass."""
        started = time.monotonic()
        report = VideoReport(dry_run=dry_run)
        stamp = self.index.stamp
        other_model = stamp is not None and not self._encoders(stamp)
        if other_model and not dry_run:
            log.warning("the videos' moments were embedded with another model: reading them again")
            self.index.forget_all_moments()
        scan = scan_images(walkable(folders, folders), exclude, wanted=is_video_name)  # a file in a folder's place: gone
        errors, report.still_unreadable, links = unreadable_files.sort_out_links(  # a broken link: said once
            scan.errors, self.index.unreadable(), None if dry_run else self.index.mark_unreadable)
        present = {f.path for f in scan.files} | links  # a broken link's entry stays while it is there
        refused = refused_paths(errors)  # a folder or file the OS refused: its videos stay
        for path, reason in errors:
            if not (reason == "vanished" and path in folders):  # a folder gone: its videos kept, said once
                report.skip(path, reason)
        report.videos = len(scan.files)
        remembered = self.index.mount_points()
        away = mount_points.unmounted(remembered | self.mounts, folders, scan)  # their disk not mounted now
        to_read, unseen = (list(scan.files), []) if other_model and dry_run else self._changed(scan.files, report)
        if dry_run:  # what the pass would decode: a video moved, copied or touched keeps its moments
            report.reused, moved = (0, set()) if other_model else self._reusable(to_read)
            report.left = len(to_read) - report.reused
            report.removed = len(self._deleted(self._gone(present, refused, away, folders, exclude, report), moved))
            return report
        self.index.note_file_ids(unseen)
        state, moved = VideoProgress(to_read=len(to_read)), set()
        for i, file in enumerate(to_read):
            if self.should_stop():
                report.interrupted, report.left = True, len(to_read) - i
                break
            state.current = file.path
            try:
                self._read_one(file, report, state, moved)
            except _Stopped:  # in the middle of a video: it is read again next time
                report.interrupted, report.left = True, len(to_read) - i
                break
            state.elapsed = time.monotonic() - started
            if self.progress is not None:
                self.progress(state)
        # after the reading: a video moved meanwhile finds its moments under its old path first
        gone = self._gone(present, refused, away, folders, exclude, report)
        report.removed = len(self._deleted(gone, moved))
        self.index.forget(gone)
        # the mount points that hold videos, and those that kept theirs (the photos' list's too)
        self.index.set_mount_points(mount_points.still_remembered(
            scan, folders, remembered | (self.mounts & set(report.kept)), report.kept))
        report.elapsed = time.monotonic() - started
        return report

    def _deleted(self, gone: list[str], moved: set[str]) -> list[str]:
        """Of the paths ``gone``, the videos deleted: not an unreadable entry alone (no video the
        index held), nor a video whose content this pass found under another name (``moved``,
        fingerprints: it moved, its moments ``reused``)."""
        held = {r.path: r.fingerprint for r in self.index.records()}
        return [path for path in gone if path in held and held[path] not in moved]

    def _encoders(self, stamp: dict[str, Any]) -> bool:
        """Whether moments of ``stamp`` were embedded by this pass's encoder: known without loading
        it where they bear the photos' own stamp (``known_stamp``)."""
        if self.known_stamp and not stamp_differences(stamp, self.known_stamp):
            return True
        return not stamp_differences(stamp, self.encoder.stamp)

    def _changed(self, files: list[FileStat], report: VideoReport) -> tuple[list[FileStat], list[tuple[str, int, int]]]:
        """The videos to read: new, changed since they were read (or found unreadable), or of the
        size and time of the file read but not its inode and ctime (replaced by ``rsync -t``, a
        restore: hashed, and their content decides, as the pipeline's ``_diff`` does for photos).
        And the file ids to record of those trusted on size and time (a store of a release before
        holds none: trusted once)."""
        known = {r.path: (r.size, r.mtime_ns) for r in self.index.records()}
        ids, broken = self.index.file_ids(), self.index.unreadable()
        out, unseen, other_ids, same_ids = [], [], [], []
        for file in files:
            entry = broken.get(file.path)
            if entry is not None and unreadable_files.still(broken, file):  # its record, if any, is from before
                report.still_unreadable += 1
                report.kept_unreadable += file.path in known  # read before it broke: its moments stay
                if broken[file.path] is not entry:  # an entry without ids took the file's
                    unseen.append((file.path, file.ino, file.ctime_ns))
            elif known.get(file.path) == (file.size, file.mtime_ns):
                seen = ids.get(file.path)
                if seen is not None and seen != (file.ino, file.ctime_ns):
                    other_ids.append(file)
                    continue
                if seen is None:
                    unseen.append((file.path, file.ino, file.ctime_ns))
                same_ids.append(file)
                report.unchanged += 1
            else:
                out.append(file)
        to_hash, renumbered = file_identity.replaced(other_ids, same_ids)  # a disk mounted again: trusted
        report.unchanged += len(renumbered)
        return out + to_hash, unseen + [(f.path, f.ino, f.ctime_ns) for f in renumbered]

    def _reusable(self, files: list[FileStat]) -> tuple[int, set[str]]:
        """Of the videos to read, how many a pass would not decode (a dry run's ``reused``): a
        content the index has moments of (moved, copied, touched), or one read before it in the
        pass; and the index's contents among them (their old paths gone: moved, not removed).
        Only a video of an indexed one's size, or of another's to read, is hashed (a content seldom
        shares its size with another), as the pass hashes it before it decodes anything."""
        return reusable(self.index, files)

    def _gone(self, present: set[str], refused: list[str], away: list[str], folders: list[str], exclude: list[str],
              report: VideoReport) -> list[str]:
        """The videos under ``folders`` no longer on disk, but those of a folder gone or empty (not
        mounted?), of a mount point inside one whose disk is ``away`` (``mount_points.unmounted``),
        kept and counted in ``report.kept``, or that the scan could not read
        (``pipeline.refused_paths``: a folder kept so too; a file, reported as skipped)."""
        roots = [os.path.join(f, "") for f in folders]
        there = {f: is_there(f) for f in folders}
        gone = []
        for path in dict.fromkeys([r.path for r in self.index.records()] + list(self.index.unreadable())):
            root = next((f for f, r in zip(folders, roots) if path.startswith(r) or path == f), None)
            if path in present or root is None:  # there, or under no folder of this pass
                continue
            if (held := refused_holder(path, refused)) is not None:
                if held != path:
                    report.kept[held] = report.kept.get(held, 0) + 1
                continue
            if not there[root] and not any(path.startswith(os.path.join(x, "")) for x in exclude):
                report.kept[root] = report.kept.get(root, 0) + 1
                continue
            if (disk := refused_holder(path, away)) is not None:  # refused_holder: the one it is under
                report.kept[disk] = report.kept.get(disk, 0) + 1
                continue
            gone.append(path)
        return gone

    def _read_one(self, file: FileStat, report: VideoReport, state: VideoProgress, moved: set[str]) -> None:
        """Read one video into moments, or give it the moments of its content, which the index
        holds (``moved``: that content's fingerprint added, its old path is no video deleted)."""
        from .video_frames import SampledVideo

        try:
            fingerprint = fingerprint_file(file.path)
            same = self.index.by_fingerprint(fingerprint)
            if same is not None:  # moved, copied or touched: its moments are kept
                record = VideoRecord(file.path, file.size, file.mtime_ns, fingerprint, same.duration,
                                     same.width, same.height, same.date_taken)
                self.index.put(record, sort_date(record), file_id=(file.ino, file.ctime_ns))
                report.reused += 1
                moved.add(fingerprint)
                return
            video = SampledVideo(file.path, every=self.every, max_frames=MAX_MOMENTS,
                                 min_size=self.encoder.input_size, timeout=self.timeout,
                                 ahead=max(1, self.encoder.batch_size))
            with video:
                moments = self._moments(video, state)
            if not moments or video.facts is None:
                raise UnreadableImage(file.path, "corrupt video", "no frame could be decoded")
        except UnreadableImage as exc:
            report.skip(file.path, exc.reason)
            state.skipped += 1
            if exc.reason in UnreadableImage.LASTING:
                report.kept_unreadable += self.index.record(file.path) is not None  # its moments stay
                self.index.mark_unreadable(file.path, unreadable_files.entry(file, exc.reason))
            return
        facts = video.facts
        record = VideoRecord(file.path, file.size, file.mtime_ns, fingerprint, facts.duration,
                             facts.width, facts.height, facts.date_taken)
        self.index.put(record, sort_date(record), moments, stamp=self.encoder.stamp, file_id=(file.ino, file.ctime_ns))
        report.read += 1
        report.moments += len(moments)
        report.seconds += facts.duration
        state.read, state.moments, state.seconds = report.read, report.moments, report.seconds

    def _moments(self, video: Any, state: VideoProgress) -> list[tuple[float, np.ndarray]]:
        """The video's distinct moments, its frames embedded a batch at a time as they decode (the
        next batch decodes meanwhile); only the batch in hand and those decoded ahead are held, not
        the video's (prepared, a frame is 600 KB of floats: an hour's 1,800 at once, a gigabyte).
        After each whole batch the progress is told, and a stop leaves the video unread (``_Stopped``)."""
        size = max(1, self.encoder.batch_size)
        kept: list[tuple[float, np.ndarray]] = []
        batch: list[Any] = []
        before = (state.moments, state.seconds)
        for frame in video:
            batch.append(frame)
            if len(batch) < size:
                continue
            kept = self._add(batch, kept)
            state.moments, state.seconds = before[0] + len(kept), before[1] + batch[-1].t
            batch = []
            if self.progress is not None:
                self.progress(state)
            if self.should_stop():
                state.moments, state.seconds = before
                raise _Stopped
        return self._add(batch, kept) if batch else kept

    def _add(self, frames: list, kept: list[tuple[float, np.ndarray]]) -> list[tuple[float, np.ndarray]]:
        vectors = self.encoder.embed_prepared([self.encoder.prepare(frame.image) for frame in frames])
        return distinct_moments([frame.t for frame in frames], np.asarray(vectors, np.float32), kept=kept)


def reusable(index: VideoIndex, files: list[FileStat]) -> tuple[int, set[str]]:
    """``VideoPass._reusable`` over ``index`` (an empty one: a first dry run, ``dryrun``)."""
    sizes, indexed = Counter(f.size for f in files), {r.size for r in index.records()}
    seen, held, reused = set(), set(), 0
    for file in files:
        if file.size not in indexed and sizes[file.size] < 2:
            continue
        try:
            fingerprint = fingerprint_file(file.path)
        except UnreadableImage:  # the pass would skip it
            continue
        if fingerprint not in seen and index.by_fingerprint(fingerprint) is not None:
            held.add(fingerprint)
        reused += fingerprint in seen or fingerprint in held
        seen.add(fingerprint)
    return reused, held


class _Stopped(Exception):
    """A stop asked for while a video was read: it is left for the next pass."""
