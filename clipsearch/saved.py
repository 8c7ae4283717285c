"""Saved searches: a name for a query and its folder and dates, kept beside the index.

A saved search stores the question, not its answer: it runs again each time it is opened, so the
photos indexed since come up in it (a "smart album": "Beach holidays" = ``beach + sea`` since
2019). The page, the command line, REST and the MCP tools read and write the same file,
``saved-searches.json`` in the index folder. Every change rewrites it whole, atomically, under a
lock of its own, so that a page and a command line saving at once lose neither; a file that is
not what this module writes is never overwritten (``SavedSearchesError`` says why).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .errors import ClipSearchError, IndexNotFound, InvalidQuery
from .query import parse_query
from .stores.base import SearchFilter

try:
    import fcntl
except ImportError:  # Windows: one writer at a time is then the user's to keep
    fcntl = None

FILE_NAME = "saved-searches.json"
MAX_NAME = 80  # characters: a name is a label in a list, not a note


def as_named(text: str) -> str:
    """A name as saved searches keep it: runs of spaces as one, none at the ends."""
    return " ".join(text.split())


class SavedSearchesError(ClipSearchError):
    """The saved searches cannot be read (a file that is not what this module writes is left as
    it is) or saved (a read-only or full disk)."""


@dataclass(frozen=True)
class SavedSearch:
    """A named query (the search box's syntax) with an optional folder and date range."""

    name: str
    query: str
    folder: str | None = None
    since: str | None = None
    until: str | None = None

    def checked(self) -> SavedSearch:
        """This search with its name trimmed and its dates as days; ``InvalidQuery`` or
        ``ValueError`` saying what is wrong."""
        name = as_named(self.name)
        if not name or len(name) > MAX_NAME:
            raise ValueError(f"a saved search's name has 1 to {MAX_NAME} characters, not {len(name)}")
        parse_query(self.query)  # InvalidQuery for "2:" and the like
        if not self.query.strip():
            raise InvalidQuery("a saved search needs words to search for")
        if self.folder and not os.path.isabs(self.folder):
            raise ValueError(f"a saved search's folder is a full path, not {self.folder!r}")
        where = SearchFilter(self.folder or None, self.since, self.until)  # ValueError for a wrong date
        return SavedSearch(name, self.query.strip(), where.folder, where.date_from, where.date_to)

    def narrowed(self, folder: str | None = None, since: str | None = None, until: str | None = None) -> SavedSearch:
        """This search run with a request's own folder or dates: each one given replaces the
        search's own, the others stay (``search --saved``, ``/api/search?saved=``)."""
        return replace(self, folder=folder or self.folder, since=since or self.since, until=until or self.until)

    def where(self) -> SearchFilter | None:
        where = SearchFilter(self.folder, self.since, self.until)
        return None if where.is_empty() else where


class SavedSearches:
    """The saved searches of the index in ``index_dir``, by name (names are compared as typed)."""

    def __init__(self, index_dir: str | Path) -> None:
        self.folder = Path(index_dir)
        self.path = self.folder / FILE_NAME

    def all(self) -> list[SavedSearch]:
        """Every saved search, by name."""
        return sorted(self._read().values(), key=lambda s: s.name.casefold())

    def get(self, name: str) -> SavedSearch | None:
        return self._read().get(as_named(name))

    def save(self, search: SavedSearch) -> SavedSearch:
        """Add ``search``, or replace the one of its name; returns it as stored."""
        search = search.checked()
        with self._locked():
            searches = self._read()
            searches[search.name] = search
            self._write(searches)
        return search

    def remove(self, name: str) -> bool:
        """Forget the search called ``name``; False when there is none."""
        with self._locked():
            searches = self._read()
            if searches.pop(as_named(name), None) is None:
                return False
            self._write(searches)
        return True

    def _read(self) -> dict[str, SavedSearch]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SavedSearchesError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        try:
            return {entry["name"]: SavedSearch(**entry) for entry in json.loads(text)["searches"]}
        except (ValueError, TypeError, KeyError) as exc:
            raise SavedSearchesError(
                f"{self.path} is not a list of saved searches ({type(exc).__name__}: {exc}): "
                "fix it or move it away; it is left as it is") from None

    def _write(self, searches: dict[str, SavedSearch]) -> None:
        data = {"version": 1, "searches": [asdict(s) for s in sorted(searches.values(), key=lambda s: s.name)]}
        temp = None
        try:
            handle, temp = tempfile.mkstemp(dir=self.folder, prefix=".saved-", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except BaseException as exc:
            with contextlib.suppress(OSError, TypeError):
                os.unlink(temp)
            if isinstance(exc, OSError):  # the searches saved before stay as they were
                raise SavedSearchesError(f"cannot save searches in {self.folder}: {exc.strerror or exc}") from None
            raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time, across processes (a page and a command line saving at once)."""
        if not self.folder.is_dir():
            raise IndexNotFound(f"no index in {self.folder}", location=self.folder)
        try:
            handle = os.open(self.folder / ".saved-searches.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SavedSearchesError(f"cannot save searches in {self.folder}: {exc.strerror or exc}") from None
        try:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)
