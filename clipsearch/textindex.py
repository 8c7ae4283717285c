"""The words read in photos, searchable: SQLite FTS5 in ``text.sqlite`` of the index folder.

Text belongs to a file's content, so pages are keyed by the file's fingerprint: a moved or copied
file keeps its text, and a file whose content is unchanged is never read again. A ``files``
table mirrors the vector store's path -> fingerprint mapping (with the date that date filters
use), so folder and date filters apply here too, whatever the vector store (hnswlib or Milvus).

Search is case- and accent-insensitive and Unicode-aware (FTS5's ``unicode61`` tokenizer with
``remove_diacritics 2``), matches word prefixes, and reads ``"quoted words"`` as an exact phrase.
Every batch of pages is one transaction: a crash loses at most the batch in flight.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import InvalidQuery
from .ocr import PageText
from .sidestore import SideDb
from .snippets import marked
from .stores.base import ImageRecord, SearchFilter, sort_date
from .stores.records import filter_clauses
from .stores.sqlite_files import Transaction
from .textforms import (  # noqa: F401 (TextQuery, parse_text_query and fold: this module's API too)
    DIGIT_GROUPS,
    MARKABLE,
    PREFIX_MIN,
    WORD,
    TextQuery,
    alternate_forms,
    fold,
    parse_text_query,
)

TEXT_DB_NAME = "text.sqlite"
TEXT_SCHEMA_VERSION = 1
SNIPPET_WORDS = 10
ALTERNATE_FORMS_RULE = "5"  # 2: ß as ss, 3: Wi-Fi as WiFi, 4: phone numbers joined, 5: ä as ae; older pages get them
_ELLIPSIS = "..."
FTS_OPEN, FTS_CLOSE = "\x02", "\x03"  # what snippet() marks with (never in OCR output); shown as [ ]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    words INTEGER NOT NULL,      -- how many words were read (0: none, -1: could not be read)
    reason TEXT,                 -- why it could not be read
    data TEXT,                   -- the lines, words and boxes as JSON
    read_at REAL NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS page_text USING fts5(
    text, alt, tokenize = "unicode61 remove_diacritics 2", prefix = '3'
);
CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    sort_date TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_fingerprint ON files (fingerprint);
"""


@dataclass(frozen=True)
class PageResult:
    """What one reading produced: a page of text, or the reason it failed."""

    fingerprint: str
    page: PageText | None = None
    reason: str | None = None


@dataclass(frozen=True)
class TextHit:
    """A file whose text matches, with a snippet where the matched words are ``[marked]``."""

    path: str
    fingerprint: str
    snippet: str
    exact: bool  # every query word matched whole (not only as a prefix)
    rank: float  # FTS5's bm25: lower is better




class TextIndex(SideDb):
    """The text store of one index folder. Thread-safe; one process writes (under the index lock)."""

    NAME, SCHEMA, VERSION, WHAT = TEXT_DB_NAME, _SCHEMA, TEXT_SCHEMA_VERSION, "the text index"

    @property
    def reader_stamp(self) -> dict[str, Any] | None:
        value = self._meta("reader")
        return json.loads(value) if value else None

    def set_reader_stamp(self, stamp: dict[str, Any]) -> None:
        self._set_meta("reader", json.dumps(stamp, sort_keys=True))

    # --- the files mirror --------------------------------------------------------------------
    def sync_files(self, records: Iterable[ImageRecord]) -> tuple[int, int]:
        """Make ``files`` hold exactly ``records``' paths; returns (added or changed, removed)."""
        want = {_key(r.path): (r.fingerprint, sort_date(r)) for r in records}
        with self._lock:
            have = {row[0]: (row[1], row[2]) for row in
                    self._db.execute("SELECT path, fingerprint, sort_date FROM files")}
            changed = [(k, *v) for k, v in want.items() if have.get(k) != v]
            gone = [(k,) for k in have if k not in want]
            if changed or gone:
                with Transaction(self._db, self.WHAT):
                    self._db.executemany("DELETE FROM files WHERE path=?", gone)
                    self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", changed)
        return len(changed), len(gone)

    def pending(self) -> list[tuple[str, str]]:
        """(fingerprint, one path) for each file content not read yet, in path order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT f.fingerprint, MIN(f.path) FROM files f LEFT JOIN pages p "
                "ON p.fingerprint = f.fingerprint WHERE p.id IS NULL GROUP BY f.fingerprint "
                "ORDER BY MIN(f.path)").fetchall()
        return [(fp, os.fsdecode(path)) for fp, path in rows]

    # --- writing -----------------------------------------------------------------------------
    def put(self, results: Iterable[PageResult]) -> None:
        """Store one batch of readings in one transaction."""
        now = time.time()
        with self._lock, Transaction(self._db, self.WHAT):
            for result in results:
                self._put_one(result, now)

    def _put_one(self, result: PageResult, now: float) -> None:
        db = self._db
        old = db.execute("SELECT id FROM pages WHERE fingerprint=?", (result.fingerprint,)).fetchone()
        if old:
            db.execute("DELETE FROM page_text WHERE rowid=?", (old[0],))
            db.execute("DELETE FROM pages WHERE id=?", (old[0],))
        page = result.page
        if page is None:
            db.execute("INSERT INTO pages (fingerprint, words, reason, data, read_at) VALUES (?, -1, ?, NULL, ?)",
                       (result.fingerprint, result.reason or "unreadable", now))
            return
        words = sum(len(line.text.split()) for line in page.lines)
        cursor = db.execute(
            "INSERT INTO pages (fingerprint, words, reason, data, read_at) VALUES (?, ?, NULL, ?, ?)",
            (result.fingerprint, words, json.dumps(page.to_dict(), ensure_ascii=False) if words else None, now))
        if words:
            text = page.text
            db.execute("INSERT INTO page_text (rowid, text, alt) VALUES (?, ?, ?)",
                       (cursor.lastrowid, text, alternate_forms(text)))

    def carry(self, pairs: Iterable[tuple[str, str]]) -> int:
        """Give each (old, new) pair's new content, where it has no page, a copy of the page read
        from the old one: the indexer's contents whose metadata alone changed (``picture_fingerprint``),
        whose words are the same. One transaction; the old page stays while a file holds it
        (``prune``). Pages that could not be read are not carried. Returns how many were."""
        carried = 0
        with self._lock, Transaction(self._db, self.WHAT):
            for old, new in pairs:
                row = self._db.execute("SELECT id, words, data, read_at FROM pages WHERE fingerprint=? AND words >= 0 "
                                       "AND NOT EXISTS (SELECT 1 FROM pages WHERE fingerprint=?)", (old, new)).fetchone()
                if row is None or old == new:
                    continue
                cursor = self._db.execute("INSERT INTO pages (fingerprint, words, reason, data, read_at) "
                                          "VALUES (?, ?, NULL, ?, ?)", (new, *row[1:]))
                self._db.execute("INSERT INTO page_text (rowid, text, alt) SELECT ?, text, alt FROM page_text "
                                 "WHERE rowid=?", (cursor.lastrowid, row[0]))
                carried += 1
        return carried

    def prune(self) -> int:
        """Forget the pages of contents no file has any more; returns how many."""
        with self._lock, Transaction(self._db, self.WHAT):
            ids = [r[0] for r in self._db.execute(
                "SELECT p.id FROM pages p WHERE NOT EXISTS "
                "(SELECT 1 FROM files f WHERE f.fingerprint = p.fingerprint)")]
            for chunk in _chunks(ids, 500):
                marks = ",".join("?" * len(chunk))
                self._db.execute(f"DELETE FROM page_text WHERE rowid IN ({marks})", chunk)
                self._db.execute(f"DELETE FROM pages WHERE id IN ({marks})", chunk)
        return len(ids)

    def refresh_alternate_forms(self) -> int:
        """Make every page's ``alternate_forms`` again where an older rule made them (pages read
        before ß was also indexed as ss); once per rule. Returns how many pages changed."""
        if self._meta("alternate_forms") == ALTERNATE_FORMS_RULE:
            return 0
        with self._lock, Transaction(self._db, self.WHAT):
            rows = self._db.execute("SELECT rowid, text, alt FROM page_text").fetchall()
            changed = [(alternate_forms(text), rowid) for rowid, text, alt in rows if alternate_forms(text) != alt]
            self._db.executemany("UPDATE page_text SET alt=? WHERE rowid=?", changed)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('alternate_forms', ?)", (ALTERNATE_FORMS_RULE,))
        return len(changed)

    def forget(self) -> None:
        """Drop every page (the next pass reads everything again)."""
        with self._lock, Transaction(self._db, self.WHAT):
            self._db.execute("DELETE FROM page_text")
            self._db.execute("DELETE FROM pages")

    # --- reading -----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Files known, contents read, with text, unreadable, and still to read."""
        with self._lock:
            files, contents = self._db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT fingerprint) FROM files").fetchone()
            read, with_text, failed = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(p.words > 0), 0), COALESCE(SUM(p.words < 0), 0) FROM pages p "
                "WHERE EXISTS (SELECT 1 FROM files f WHERE f.fingerprint = p.fingerprint)").fetchone()
        return {"files": files, "read": read, "with_text": with_text, "unreadable": failed,
                "pending": contents - read}

    def unread(self, fingerprints: Iterable[str]) -> int:
        """How many of the distinct ``fingerprints`` have not been read (nothing written)."""
        wanted, read = list(set(fingerprints)), 0
        with self._lock:
            for chunk in _chunks(wanted, 500):
                read += self._db.execute(f"SELECT COUNT(*) FROM pages WHERE fingerprint IN ({','.join('?' * len(chunk))})",
                                         chunk).fetchone()[0]
        return len(wanted) - read

    def page(self, fingerprint: str) -> PageText | None:
        """What was read from a content (None: not read, nothing found, or unreadable)."""
        with self._lock:
            row = self._db.execute("SELECT data FROM pages WHERE fingerprint=?", (fingerprint,)).fetchone()
        return PageText.from_dict(json.loads(row[0])) if row and row[0] else None

    def words_of(self, fingerprints: Iterable[str]) -> dict[str, frozenset[str]]:
        """The distinct words (lower case) read from each content that has any; the others are left out."""
        wanted, out = list(dict.fromkeys(fingerprints)), {}
        with self._lock:
            for chunk in _chunks(wanted, 500):
                rows = self._db.execute(
                    "SELECT p.fingerprint, t.text FROM pages p JOIN page_text t ON t.rowid = p.id "
                    f"WHERE p.words > 0 AND p.fingerprint IN ({','.join('?' * len(chunk))})", chunk).fetchall()
                out.update((fp, frozenset(w.lower() for w in WORD.findall(text or ""))) for fp, text in rows)
        return {fp: words for fp, words in out.items() if words}

    def text_of(self, path: str) -> str | None:
        """The text read from an indexed path, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT t.text FROM files f JOIN pages p ON p.fingerprint = f.fingerprint "
                "JOIN page_text t ON t.rowid = p.id WHERE f.path=?", (_key(os.path.abspath(path)),)).fetchone()
        return row[0] if row else None

    def search(self, query: str | TextQuery, *, where: SearchFilter | None = None,
               limit: int = 100) -> list[TextHit]:
        """Files whose text matches ``query``, whole-word matches first, each best first (bm25)."""
        parsed = parse_text_query(query) if isinstance(query, str) else query
        if parsed is None:
            return []
        hits = self._match(parsed.exact, parsed.words, where, limit, exact=True)
        if parsed.prefix and len(hits) < limit:
            seen = {h.path for h in hits}
            more = self._match(parsed.prefix, parsed.words, where, limit, exact=False)
            hits += [h for h in more if h.path not in seen][: limit - len(hits)]
        return hits

    def _match(self, match: str, words: tuple[str, ...], where: SearchFilter | None, limit: int,
               exact: bool) -> list[TextHit]:
        filters, filter_args = filter_clauses(where, "f.")
        clauses, args = ["page_text MATCH ?", *filters], [match, *filter_args]
        sql = (f"SELECT f.path, p.fingerprint, snippet(page_text, 0, '{FTS_OPEN}', '{FTS_CLOSE}', "
               f"'{_ELLIPSIS}', {SNIPPET_WORDS}), page_text.text, bm25(page_text) AS rank FROM page_text "
               "JOIN pages p ON p.id = page_text.rowid JOIN files f ON f.fingerprint = p.fingerprint "
               f"WHERE {' AND '.join(clauses)} ORDER BY rank, f.path LIMIT ?")
        try:
            with self._lock:
                rows = self._db.execute(sql, [*args, int(limit)]).fetchall()
        except sqlite3.OperationalError as exc:
            if "fts5" in str(exc) or "syntax" in str(exc):
                raise InvalidQuery(f"cannot search the text for {match!r}: {exc}") from exc
            raise
        return [TextHit(os.fsdecode(p), fp, shown_snippet(s, text, words, exact), exact, float(r))
                for p, fp, s, text, r in rows]


def shown_snippet(snippet: str, text: str, words: tuple[str, ...], exact: bool) -> str:
    """The snippet to show, from FTS5's ``snippet()`` of the ``text`` column marked with
    ``FTS_OPEN``/``FTS_CLOSE``: its marks as ``[ ]`` and the words' own brackets escaped
    (``snippets.marked``); where only an alternate form matched (``ginger`` in ``GINGER94.67``),
    the photo's own words with those whose forms matched marked."""
    if FTS_OPEN not in snippet:
        snippet = mark_alternates(text, set(words), prefix=not exact)
    return " ".join(marked(snippet, FTS_OPEN, FTS_CLOSE).split())


def mark_alternates(text: str, words: set[str], *, prefix: bool) -> str:
    """``text`` with each word one of whose ``alternate_forms`` is a query word (or, with
    ``prefix``, begins with one) between ``FTS_OPEN`` and ``FTS_CLOSE``, cut to ``SNIPPET_WORDS``
    words around the first."""
    def mark(m: re.Match) -> str:
        forms = {fold(f) for f in alternate_forms(m.group()).split()}
        hit = any(f == w or (prefix and len(w) >= PREFIX_MIN and f.startswith(w)) for f in forms for w in words)
        return f"{FTS_OPEN}{m.group()}{FTS_CLOSE}" if hit else m.group()

    chunks = text.split()
    shown = [MARKABLE.sub(mark, chunk) for chunk in DIGIT_GROUPS.sub(mark, text).split()]
    first = next((i for i, (a, b) in enumerate(zip(chunks, shown)) if a != b), 0)
    start = max(0, min(first - 2, len(shown) - SNIPPET_WORDS))
    end = start + SNIPPET_WORDS
    return (_ELLIPSIS if start else "") + " ".join(shown[start:end]) + (_ELLIPSIS if end < len(shown) else "")


def _key(path: str) -> bytes:
    return os.fsencode(path)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
