"""The moments of videos, searchable: SQLite in ``videos.sqlite`` of the index folder.

A video is kept as its file (path, size, time, content fingerprint, length, date) and its
moments: one vector for each sampled frame that differs from the one before (``clipsearch.videopass``).
Moments belong to the content, so they are keyed by the video's fingerprint: a moved or copied
video keeps them, and one whose content is unchanged is never decoded again. Each video is written
in one transaction, so an interrupted pass leaves every video it finished, and none half done.

Searching reads every moment's vector into memory once per change (100,000 moments, 55 hours of
video at one a 2 s, are 200 MB) and scores them exactly: a matrix product, a few milliseconds.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import unreadable_files
from .cutoff import SAMPLE_SIZE
from .errors import InvalidQuery
from .sidestore import SideDb
from .stores.base import SearchFilter
from .stores.records import filter_clauses
from .stores.sqlite_files import Transaction
from .textindex import FTS_CLOSE, FTS_OPEN, shown_snippet

VIDEO_DB_NAME = "videos.sqlite"
VIDEO_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS videos (
    path BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    duration REAL NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    date_taken TEXT,
    sort_date TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS videos_fingerprint ON videos (fingerprint);
CREATE TABLE IF NOT EXISTS moments (
    fingerprint TEXT NOT NULL,
    t REAL NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (fingerprint, t)
);
CREATE TABLE IF NOT EXISTS unreadable (
    path BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    reason TEXT NOT NULL
);
INSERT OR IGNORE INTO meta VALUES ('generation', '0');
"""
# The inode and ctime of the file each video and each unreadable entry was read from, so that a
# file replaced by another of its size and modification time (``rsync -t``, a restore) is read
# again, as the photos' ``file_ids`` and ``unreadable_files`` do. A table of its own, made when
# first written: a store of an earlier release gains it in place (that release writes the store as
# it did, leaves it alone, and what it leaves there is only checked: a file whose ids differ is
# hashed, and its content decides); a video or entry without ids is trusted on size and time once.
_IDS_TABLE = ("CREATE TABLE IF NOT EXISTS file_ids (path BLOB PRIMARY KEY, ino INTEGER NOT NULL, "
              "ctime_ns INTEGER NOT NULL) WITHOUT ROWID")
# The words read in the moments' frames (``videowords``, with ``--ocr``): made when first written,
# so that a store of an earlier release gains them in place (that release leaves them alone).
_WORDS_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS moment_text USING fts5(
    text, alt, fingerprint UNINDEXED, t UNINDEXED, tokenize = "unicode61 remove_diacritics 2", prefix = '3'
);
CREATE TABLE IF NOT EXISTS words_read (
    fingerprint TEXT PRIMARY KEY,
    moments INTEGER NOT NULL,    -- how many moments the video had when their words were read
    reader TEXT NOT NULL         -- the reader's stamp (another reader reads them again)
);
"""
_NO_TABLE = "no such table"


@dataclass(frozen=True)
class VideoRecord:
    """What the index knows about one video file."""

    path: str
    size: int
    mtime_ns: int
    fingerprint: str
    duration: float  # seconds
    width: int
    height: int
    date_taken: str | None = None  # ISO 8601, from the container's creation time

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)


@dataclass(frozen=True)
class Moments:
    """Every moment's vector (float32 rows), its video's fingerprint and its time, at one generation."""

    generation: int
    times: np.ndarray  # float64 seconds, one per row
    vectors: np.ndarray  # (n, dim) float32, unit rows
    rows: dict[str, slice]  # each video content's rows (they are stored sorted by fingerprint, then time)
    group: dict[str, int] = field(default_factory=dict)  # each content's place in ``rows``' order
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # where each one's rows start
    sample: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # up to SAMPLE_SIZE random rows

    @classmethod
    def of(cls, generation: int, times: np.ndarray, vectors: np.ndarray, rows: dict[str, slice]) -> Moments:
        """The moments with what every search derives from them, worked out once a generation."""
        count = len(times)
        sample = (np.arange(count) if count <= SAMPLE_SIZE
                  else np.random.default_rng(generation).choice(count, SAMPLE_SIZE, replace=False))
        return cls(generation, times, vectors, rows, {fp: i for i, fp in enumerate(rows)},
                   np.fromiter((r.start for r in rows.values()), np.int64, len(rows)), sample)


class VideoIndex(SideDb):
    """The video store of one index folder. Thread-safe; one process writes (under the index lock)."""

    NAME, SCHEMA, VERSION, WHAT = VIDEO_DB_NAME, _SCHEMA, VIDEO_SCHEMA_VERSION, "the video index"

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        super().__init__(path, db)
        self._moments: Moments | None = None
        self._records: tuple[int, list[VideoRecord]] | None = None

    @property
    def stamp(self) -> dict[str, Any] | None:
        """The model stamp the moments were embedded with (None before the first)."""
        value = self._meta("stamp")
        return json.loads(value) if value else None

    def generation(self) -> int:
        """A number that grows with every change (moments cached by readers are kept until then)."""
        return int(self._meta("generation") or 0)

    # --- reading -----------------------------------------------------------------------------
    def records(self, where: SearchFilter | None = None) -> list[VideoRecord]:
        """The videos, in path order (those under ``where``'s folder and dates); all of them are
        read once per generation."""
        if where is None or where.is_empty():
            generation = self.generation()
            if self._records is None or self._records[0] != generation:
                self._records = (generation, self._read_records(None))
            return list(self._records[1])
        return self._read_records(where)

    def _read_records(self, where: SearchFilter | None) -> list[VideoRecord]:
        clauses, args = filter_clauses(where)
        sql = "SELECT path, size, mtime_ns, fingerprint, duration, width, height, date_taken FROM videos"
        with self._lock:
            rows = self._db.execute(sql + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY path",
                                    args).fetchall()
        return [VideoRecord(os.fsdecode(row[0]), *row[1:]) for row in rows]

    def record(self, path: str) -> VideoRecord | None:
        found = [r for r in self._select("path=?", os.fsencode(path))]
        return found[0] if found else None

    def _select(self, clause: str, arg: Any) -> list[VideoRecord]:
        with self._lock:
            rows = self._db.execute("SELECT path, size, mtime_ns, fingerprint, duration, width, height, date_taken "
                                    f"FROM videos WHERE {clause}", (arg,)).fetchall()
        return [VideoRecord(os.fsdecode(row[0]), *row[1:]) for row in rows]

    def by_fingerprint(self, fingerprint: str) -> VideoRecord | None:
        """A video of this content whose moments are kept (None when there is none)."""
        found = self._select("fingerprint=?", fingerprint) if self.has_moments(fingerprint) else []
        return found[0] if found else None

    def has_moments(self, fingerprint: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM moments WHERE fingerprint=? LIMIT 1", (fingerprint,)).fetchone() is not None

    def moment_times(self, fingerprint: str) -> list[float]:
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT t FROM moments WHERE fingerprint=? ORDER BY t",
                                                       (fingerprint,))]

    def unreadable(self) -> unreadable_files.Entries:
        """path -> (size, mtime_ns, reason, inode, ctime_ns) of the videos that could not be read as
        they are now (``unreadable_files.Entry``; inode and ctime 0 where not known)."""
        with self._lock:
            rows = self._db.execute("SELECT path, size, mtime_ns, reason FROM unreadable").fetchall()
        ids = self.file_ids()
        return {(path := os.fsdecode(row[0])): (row[1], row[2], row[3], *ids.get(path, (0, 0))) for row in rows}

    def file_ids(self) -> dict[str, tuple[int, int]]:
        """path -> (inode, ctime_ns) of the files the videos and unreadable entries were read from,
        where known (none in a store of an earlier release)."""
        try:
            with self._lock:
                rows = self._db.execute("SELECT path, ino, ctime_ns FROM file_ids").fetchall()
        except sqlite3.OperationalError as exc:
            if _NO_TABLE in str(exc):
                return {}
            raise
        return {os.fsdecode(path): (ino, ctime) for path, ino, ctime in rows}

    def moments(self) -> Moments:
        """Every moment, read once per generation."""
        generation = self.generation()
        kept = self._moments
        if kept is not None and kept.generation == generation:
            return kept
        with self._lock:
            rows = self._db.execute("SELECT fingerprint, t, vector FROM moments ORDER BY fingerprint, t").fetchall()
        vectors = (np.stack([np.frombuffer(row[2], np.float32) for row in rows]) if rows
                   else np.zeros((0, 0), np.float32))
        by_content: dict[str, slice] = {}
        for at, row in enumerate(rows):
            start = by_content[row[0]].start if row[0] in by_content else at
            by_content[row[0]] = slice(start, at + 1)
        self._moments = Moments.of(generation, np.array([row[1] for row in rows], np.float64), vectors, by_content)
        return self._moments

    def counts(self) -> dict[str, Any]:
        with self._lock:
            videos, seconds = self._db.execute("SELECT count(*), coalesce(sum(duration), 0) FROM videos").fetchone()
            moments = self._db.execute("SELECT count(*) FROM moments").fetchone()[0]
            broken = self._db.execute("SELECT count(*) FROM unreadable").fetchone()[0]
        said = self._words("SELECT count(*) FROM moment_text")
        return {"videos": videos, "seconds": round(float(seconds), 1), "moments": moments, "unreadable": broken,
                **({"moments_with_words": said[0][0]} if said else {})}

    # --- the words read in moments -------------------------------------------------------------
    def _words(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Rows of a query of the words' tables; none where they were never made."""
        try:
            with self._lock:
                return self._db.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if _NO_TABLE in str(exc):
                return []
            if "fts5" in str(exc) or "syntax" in str(exc):
                raise InvalidQuery(f"cannot search the words in videos for {args[:1]!r}: {exc}") from exc
            raise

    def words_pending(self, reader: dict[str, Any]) -> list[tuple[str, list[float]]]:
        """(fingerprint, its moments' times) of each video content whose moments' words are not read
        (by this ``reader``, or since its moments changed), in fingerprint order."""
        done = {fp: (count, stamp) for fp, count, stamp in self._words("SELECT fingerprint, moments, reader "
                                                                        "FROM words_read")}
        wanted, stamp = [], json.dumps(reader, sort_keys=True)
        with self._lock:
            rows = self._db.execute("SELECT fingerprint, t FROM moments ORDER BY fingerprint, t").fetchall()
        times: dict[str, list[float]] = {}
        for fingerprint, t in rows:
            times.setdefault(fingerprint, []).append(t)
        for fingerprint, moments in times.items():
            if done.get(fingerprint) != (len(moments), stamp):
                wanted.append((fingerprint, moments))
        return wanted

    def put_words(self, fingerprint: str, reader: dict[str, Any], said: Iterable[tuple[float, str, str]],
                  moments: int) -> None:
        """The words read in one video's ``moments`` moments ((t, text, its alternate forms) of
        those that say something), in one transaction."""
        with self._lock, Transaction(self._db, self.WHAT) as db:
            for statement in _WORDS_SCHEMA.split(";\n"):
                if statement.strip():
                    db.execute(statement)
            db.execute("DELETE FROM moment_text WHERE fingerprint=?", (fingerprint,))
            db.executemany("INSERT INTO moment_text (text, alt, fingerprint, t) VALUES (?, ?, ?, ?)",
                           [(text, alt, fingerprint, float(t)) for t, text, alt in said])
            db.execute("INSERT OR REPLACE INTO words_read VALUES (?, ?, ?)",
                       (fingerprint, moments, json.dumps(reader, sort_keys=True)))
            db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='generation'")

    def moments_saying(self, match: str, words: tuple[str, ...] = (), *, exact: bool = True,
                       limit: int = 1000) -> dict[tuple[str, float], str]:
        """(fingerprint, t) -> a snippet with the matched words ``[marked]``, of the moments whose
        words match ``match`` (an FTS5 query: ``textindex.parse_text_query``, whose ``words`` and
        pass, ``exact`` or not, mark what only an alternate form matched), best first."""
        rows = self._words(f"SELECT fingerprint, t, snippet(moment_text, 0, '{FTS_OPEN}', '{FTS_CLOSE}', '...', 10), "
                           "text FROM moment_text WHERE moment_text MATCH ? ORDER BY bm25(moment_text) LIMIT ?",
                           (match, int(limit)))
        return {(fingerprint, float(t)): shown_snippet(snippet, text, words, exact)
                for fingerprint, t, snippet, text in rows}

    # --- writing -----------------------------------------------------------------------------
    def put(self, record: VideoRecord, sort_date: str, moments: Iterable[tuple[float, np.ndarray]] = (),
            stamp: dict[str, Any] | None = None, file_id: tuple[int, int] = (0, 0)) -> None:
        """Store one video (and, when its content is new, its moments) in one transaction;
        ``file_id``: the (inode, ctime_ns) of the file read (0, 0: not known)."""
        rows = [(record.fingerprint, float(t), np.asarray(v, np.float32).tobytes()) for t, v in moments]
        with self._lock, Transaction(self._db, self.WHAT) as db:
            db.execute("INSERT OR REPLACE INTO videos VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (os.fsencode(record.path), record.size, record.mtime_ns, record.fingerprint,
                        record.duration, record.width, record.height, record.date_taken, sort_date))
            db.execute("DELETE FROM unreadable WHERE path=?", (os.fsencode(record.path),))
            self._note_ids(db, [(record.path, *file_id)])
            if rows:
                db.execute("DELETE FROM moments WHERE fingerprint=?", (record.fingerprint,))
                db.executemany("INSERT INTO moments VALUES (?, ?, ?)", rows)
                self._forget_words(db, "fingerprint=?", (record.fingerprint,))
            if stamp is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('stamp', ?)", (json.dumps(stamp, sort_keys=True),))
            self._prune_and_bump(db)

    def mark_unreadable(self, path: str, entry: unreadable_files.Entry) -> None:
        """Remember that ``path`` could not be read as it is (``unreadable_files.entry``: tried again
        once it changes). Its record and moments, from before it broke, stay, as a photo's do (a
        sync or a copy cut short: whole again, the video keeps them, nothing decoded); they go with
        the file, when it is deleted."""
        size, mtime_ns, reason, ino, ctime_ns = entry
        with self._lock, Transaction(self._db, self.WHAT) as db:
            db.execute("INSERT OR REPLACE INTO unreadable VALUES (?, ?, ?, ?)", (os.fsencode(path), size, mtime_ns, reason))
            self._note_ids(db, [(path, ino, ctime_ns)])
            self._prune_and_bump(db)

    def note_file_ids(self, ids: list[tuple[str, int, int]]) -> None:
        """Record the (path, inode, ctime_ns) of videos or unreadable entries trusted on their size
        and time (those of a store of an earlier release, once)."""
        if ids:
            with self._lock, Transaction(self._db, self.WHAT) as db:
                self._note_ids(db, ids)

    @staticmethod
    def _note_ids(db: sqlite3.Connection, ids: list[tuple[str, int, int]]) -> None:
        db.execute(_IDS_TABLE)
        db.executemany("INSERT OR REPLACE INTO file_ids VALUES (?, ?, ?)",
                       [(os.fsencode(path), ino, ctime) for path, ino, ctime in ids])

    def forget(self, paths: Iterable[str]) -> int:
        """Forget these videos (and their moments, where no other path shares their content) and
        their unreadable entries; returns how many videos went (an entry alone is no video)."""
        keys = [(os.fsencode(p),) for p in paths]
        if not keys:
            return 0
        with self._lock, Transaction(self._db, self.WHAT) as db:
            before = db.total_changes
            db.executemany("DELETE FROM videos WHERE path=?", keys)
            gone = db.total_changes - before
            db.executemany("DELETE FROM unreadable WHERE path=?", keys)
            self._prune_and_bump(db)
        return gone

    def moments_leaving(self, paths: Iterable[str]) -> int:
        """How many moments forgetting these videos would drop: those of the contents no other
        video shares (``--remove``'s count)."""
        leaving, records = set(paths), self.records()
        staying = {r.fingerprint for r in records if r.path not in leaving}
        contents = {r.fingerprint for r in records if r.path in leaving} - staying
        with self._lock:
            rows = self._db.execute("SELECT fingerprint, count(*) FROM moments GROUP BY fingerprint").fetchall()
        return sum(count for fingerprint, count in rows if fingerprint in contents)

    def mount_points(self) -> set[str]:
        """The mount points inside a covered folder that held videos when last mounted
        (``mount_points``: not mounted now, they keep their videos)."""
        value = self._meta("mount_points")
        return set(json.loads(value)) if value else set()

    def set_mount_points(self, folders: Iterable[str]) -> None:
        """Remember these mount points (``mount_points``), where they changed."""
        folders = sorted(folders)
        if set(folders) != self.mount_points():
            self._set_meta("mount_points", json.dumps(folders))

    def forget_all_moments(self) -> None:
        """Drop every moment and video (another model: they are embedded again)."""
        with self._lock, Transaction(self._db, self.WHAT) as db:
            db.execute("DELETE FROM moments")
            db.execute("DELETE FROM videos")
            db.execute("DELETE FROM meta WHERE key='stamp'")
            self._forget_words(db, "1", ())
            self._prune_and_bump(db)

    def _prune_and_bump(self, db: sqlite3.Connection) -> None:
        db.execute(_IDS_TABLE)
        db.execute("DELETE FROM file_ids WHERE path NOT IN (SELECT path FROM videos UNION SELECT path FROM unreadable)")
        db.execute("DELETE FROM moments WHERE fingerprint NOT IN (SELECT fingerprint FROM videos)")
        self._forget_words(db, "fingerprint NOT IN (SELECT fingerprint FROM moments)", ())
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='generation'")

    @staticmethod
    def _forget_words(db: sqlite3.Connection, where: str, args: tuple) -> None:
        """The words of the moments ``where`` selects (by fingerprint) go with them."""
        for table in ("moment_text", "words_read"):
            try:
                db.execute(f"DELETE FROM {table} WHERE {where}", args)
            except sqlite3.OperationalError as exc:
                if _NO_TABLE not in str(exc):
                    raise
