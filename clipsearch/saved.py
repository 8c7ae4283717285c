"""Saved searches: a name for a query and its folder and dates, kept beside the index.

A saved search stores the question, not its answer: it runs again each time it is opened, so the
photos indexed since come up in it (a "smart album": "Beach holidays" = ``beach + sea`` since
2019). The question may hold an example photo, or a part of one (``region``), with or without
words: "Rex in the snow" = this photo of Rex's face ``+ snow``. The photo is copied beside the
index (``saved-photos/``, named by its content), so the search keeps working when the file it
came from is moved, edited or deleted; a copy no saved search uses is removed.

The page, the command line, REST and the MCP tools read and write the same file,
``saved-searches.json`` in the index folder (and the second one below). Every change rewrites it whole, atomically, under a
lock of its own, so that a page and a command line saving at once lose neither; a file that is
not what this module writes is never overwritten (``SavedSearchesError`` says why).

The release before photos read that file whole or not at all: a search with photo fields in it
made it refuse every search. So a search without a photo is written there as that release wrote
it, and a search with one goes to a second file, ``saved-photo-searches.json`` (the same form),
which that release never opens: after a downgrade it lists the searches of words, and its own
saves rewrite only the first file, leaving the photo searches for this release. Both files are
read; a name in both is the first file's (the release before saved it last). A first file of
the release that kept photo searches in it is read as it is, and split at the next save.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from .errors import ClipSearchError, IndexNotFound, InvalidQuery, QueryTooLarge, UnreadableImage
from .images import MAX_QUERY_BYTES, load_image
from .query import MAX_TERMS, QueryTerm, check_terms, parse_query
from .region import QUERY_LIMIT, parse_region, read_query_picture
from .stores.atomic import atomic_write_bytes, atomic_write_text
from .stores.base import SearchFilter
from .web_names import json_text

try:
    import fcntl
except ImportError:  # Windows: one writer at a time is then the user's to keep
    fcntl = None

FILE_NAME = "saved-searches.json"
PHOTO_FILE_NAME = "saved-photo-searches.json"  # the searches with a photo, which the release before cannot read
PHOTOS = "saved-photos"  # the example photos' copies, in the index folder
MAX_NAME = 80  # characters: a name is a label in a list, not a note
_COPY = re.compile(r"^[0-9a-f]{24}\.[a-z0-9]{1,5}$")  # a copy's name: only those are ever removed
_PHOTO_FIELDS = ("photo", "photo_name", "region")  # written only when a search has a photo


def as_named(text: str) -> str:
    """A name as saved searches keep it: runs of spaces as one, none at the ends."""
    return " ".join(text.split())


class SavedSearchesError(ClipSearchError):
    """The saved searches cannot be read (a file that is not what this module writes is left as
    it is) or saved (a read-only or full disk)."""


@dataclass(frozen=True)
class SavedSearch:
    """A named query (the search box's syntax) with an optional folder and date range, and an
    optional example photo: ``photo`` its copy (``saved-photos/NAME``, under the index folder),
    ``photo_name`` the name of the file it was copied from, ``region`` the part of it searched with
    (``clipsearch.region``'s text; None: all of it)."""

    name: str
    query: str
    folder: str | None = None
    since: str | None = None
    until: str | None = None
    photo: str | None = None
    photo_name: str | None = None
    region: str | None = None

    def checked(self) -> SavedSearch:
        """This search with its name trimmed and its dates as days; ``InvalidQuery`` or
        ``ValueError`` saying what is wrong."""
        name = as_named(self.name)
        if not name or len(name) > MAX_NAME:
            raise ValueError(f"a saved search's name has 1 to {MAX_NAME} characters, not {len(name)}")
        self._terms(index_dir="")  # InvalidQuery for "2:" and the like; its photo one term more: never saved unable to run
        if not self.query.strip() and not self.photo:
            raise InvalidQuery("a saved search needs words to search for, or a photo")
        if self.region and not self.photo:
            raise InvalidQuery("a region is a part of a photo: save the photo with it")
        region = parse_region(self.region)  # InvalidQuery for a wrong one; None for all of the photo
        if self.folder and not os.path.isabs(self.folder):
            raise ValueError(f"a saved search's folder is a full path, not {self.folder!r}")
        where = SearchFilter(self.folder or None, self.since, self.until)  # ValueError for a wrong date
        return SavedSearch(name, self.query.strip(), where.folder, where.date_from, where.date_to, self.photo,
                           self.photo_name, region and str(region))

    def terms(self, index_dir: str | Path) -> list[QueryTerm]:
        """What to search for: the words' terms, and the photo's copy (or its ``region``); as ``runnable``
        says, a search past a query's limits (saved before there were any, or by hand) names itself."""
        try:
            return self._terms(index_dir)
        except QueryTooLarge as exc:
            photo = f" (its photo counts as one of the {MAX_TERMS} terms)" if self.photo else ""
            raise QueryTooLarge(f"the saved search {self.name!r} cannot run: {exc}. Save it again with fewer "
                                f"words{photo}, or forget it") from None

    def runnable(self) -> SavedSearch:
        """This search, where it can run as saved. One past a query's limits (``query.MAX_TERMS`` terms,
        its photo one of them, ``MAX_QUERY_CHARS`` characters), saved before there were any or written
        by hand, is ``QueryTooLarge`` naming it and saying what to do (``terms``): every front end says it so."""
        self.terms(index_dir="")
        return self

    def _terms(self, index_dir: str | Path) -> list[QueryTerm]:
        terms = parse_query(self.query)
        if self.photo:
            terms.append(QueryTerm(1.0, image=self.photo_path(index_dir), region=parse_region(self.region)))
        return check_terms(terms)

    def photo_path(self, index_dir: str | Path) -> str | None:
        """The full path of the photo's copy, where the search has one (in ``saved-photos/``, whatever
        a hand-edited file says)."""
        return os.path.join(index_dir, PHOTOS, os.path.basename(self.photo)) if self.photo else None

    def drawn_region(self, index_dir: str | Path) -> str:
        """The part of the photo as fractions of it, as a page draws a box ("" for all of it)."""
        region = parse_region(self.region) if self.photo else None
        if region is None:
            return ""
        if region.pixels:
            loaded = load_image(self.photo_path(index_dir), min_size=1)
            region = region.in_fractions(loaded.width, loaded.height)
        return str(region)

    def shown(self) -> dict:
        """The search as the command line's ``--json``, REST and the MCP tools give it."""
        return {key: value for key, value in asdict(self).items() if key != "photo"}

    def narrowed(self, folder: str | None = None, since: str | None = None, until: str | None = None) -> SavedSearch:
        """This search run with a request's own folder or dates: each one given replaces the
        search's own, the others stay (``search --saved``, ``/api/search?saved=``)."""
        return replace(self, folder=folder or self.folder, since=since or self.since, until=until or self.until)

    def where(self) -> SearchFilter | None:
        where = SearchFilter(self.folder, self.since, self.until)
        return None if where.is_empty() else where


_FIELDS = tuple(field.name for field in fields(SavedSearch))  # all a file may say of a search


class SavedSearches:
    """The saved searches of the index in ``index_dir``, by name (names are compared as typed)."""

    def __init__(self, index_dir: str | Path) -> None:
        self.folder = Path(index_dir)
        self.path = self.folder / FILE_NAME
        self.photo_file = self.folder / PHOTO_FILE_NAME

    def all(self) -> list[SavedSearch]:
        """Every saved search, by name."""
        return sorted(self._read().values(), key=lambda s: s.name.casefold())

    def get(self, name: str) -> SavedSearch | None:
        return self._read().get(as_named(name))

    def save(self, search: SavedSearch, photo: str | Path | bytes | None = None,
             photo_name: str | None = None) -> SavedSearch:
        """Add ``search``, or replace the one of its name; returns it as stored. ``photo``: a
        picture to search with, a file or its bytes (copied beside the index; ``photo_name``, else
        the file's own name, names it), with the search's ``region`` of it; an unreadable one is
        ``UnreadableImage``."""
        return self.put(search, photo, photo_name)[0]

    def put(self, search: SavedSearch, photo: str | Path | bytes | None = None,
            photo_name: str | None = None) -> tuple[SavedSearch, bool]:
        """``save``, and whether it replaced a search of that name (the page, ``saved add`` and
        REST say so: a name typed again replaced a search in silence)."""
        data = source = None
        if photo is not None:
            data, source = _photo_bytes(photo, photo_name)
            search = replace(search, photo=PHOTOS,  # for the checks: the copy is made once they pass
                             photo_name=photo_name or os.path.basename(source))
        search = search.checked()
        if data is not None:
            loaded = load_image(data, path=source, min_size=1)
            region = parse_region(search.region)
            if region:
                region.box(loaded.width, loaded.height)  # InvalidQuery: past the picture, or too small
        with self._locked():
            if data is not None:
                search = replace(search, photo=self._keep(data, source))
            searches = self._read()
            replaced = search.name in searches
            searches[search.name] = search
            self._write(searches, photo_first=bool(search.photo))
            self._prune(searches)
        return search, replaced

    def remove(self, name: str) -> bool:
        """Forget the search called ``name`` (and its photo's copy); False when there is none."""
        with self._locked():
            searches = self._read()
            if searches.pop(as_named(name), None) is None:
                return False
            self._write(searches)
            self._prune(searches)
        return True

    def _keep(self, data: bytes, name: str) -> str:
        """A copy of a photo's bytes (``name``: its file's, for the suffix) in ``saved-photos/``, named
        by its content: its path under the folder."""
        suffix = (os.path.splitext(name)[1].lower().lstrip(".") or "jpg")[:5]
        name = f"{hashlib.sha256(data).hexdigest()[:24]}.{suffix if suffix.isalnum() else 'jpg'}"
        kept = self.folder / PHOTOS / name
        if not kept.exists():
            try:
                kept.parent.mkdir(exist_ok=True)
                atomic_write_bytes(kept, data)
            except OSError as exc:
                raise SavedSearchesError(f"cannot keep the photo in {kept.parent}: {exc.strerror or exc}") from None
        return os.path.join(PHOTOS, name)

    def _prune(self, searches: dict[str, SavedSearch]) -> None:
        """Remove the photo copies no saved search uses (only files of a copy's name)."""
        used = {os.path.basename(s.photo) for s in searches.values() if s.photo}
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.folder / PHOTOS):
                if _COPY.match(entry.name) and entry.name not in used:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)

    def _read(self) -> dict[str, SavedSearch]:
        """Both files' searches by name; a name in both is the first file's (see the module)."""
        return {**self._read_file(self.photo_file), **self._read_file(self.path)}

    def _read_file(self, path: Path) -> dict[str, SavedSearch]:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SavedSearchesError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            return {search.name: search for search in map(_read_entry, json.loads(text)["searches"], itertools.count(1))}
        except (ValueError, TypeError, KeyError) as exc:
            raise SavedSearchesError(
                f"{path} is not a list of saved searches ({type(exc).__name__}: {exc}): "
                "fix it or move it away; it is left as it is") from None

    def _write(self, searches: dict[str, SavedSearch], photo_first: bool = False) -> None:
        """The searches without a photo to the first file, those with one to the second (removed
        when none is left). ``photo_first``: the search just saved has a photo; its file is written
        first, so that a stop between the two writes leaves the searches as before or as after
        (the first file's name wins), never without it."""
        ordered = sorted(searches.values(), key=lambda s: s.name)
        words = [_written(s) for s in ordered if not s.photo]
        photos = [_written(s) for s in ordered if s.photo]
        writes = [(self.path, words), (self.photo_file, photos)]
        for path, entries in reversed(writes) if photo_first else writes:
            try:
                if entries or path == self.path:
                    atomic_write_text(path, json_text({"version": 1, "searches": entries}, indent=1))
                else:
                    path.unlink(missing_ok=True)
            except OSError as exc:  # the searches saved before stay as they were
                raise SavedSearchesError(f"cannot save searches in {self.folder}: {exc.strerror or exc}") from None

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


def _photo_bytes(photo: str | Path | bytes, name: str | None) -> tuple[bytes, str]:
    """A photo's bytes, and the name its errors and its copy's suffix go by."""
    if isinstance(photo, bytes):
        if len(photo) > MAX_QUERY_BYTES:
            raise UnreadableImage(name or "photo", "file too large", QUERY_LIMIT)
        return photo, name or "photo"
    return read_query_picture(os.fspath(photo)), str(photo)  # as `search --image` reads it: at most 50 MB


def _read_entry(entry: object, number: int) -> SavedSearch:
    """The ``number``th search of a file, where it is as this module writes it: a name and a query of
    text, the other fields text or null; else ``ValueError`` naming it and the field (a number for a
    name, or a null query, failed deep in a front end instead, with no word of the file)."""
    if not isinstance(entry, dict):
        raise ValueError(f"search {number} is {json.dumps(entry)[:40]}, not an object")
    said = f"search {number}" + (f" ({entry['name']!r})" if isinstance(entry.get("name"), str) else "")
    if unknown := sorted(set(entry) - set(_FIELDS)):
        raise ValueError(f"{said} has a field {unknown[0]!r}, which saved searches do not have")
    for key in _FIELDS:
        value = entry.get(key)
        if not isinstance(value, str) and (key in ("name", "query") or value is not None):
            shown = json.dumps(value)[:40] if key in entry else "missing"
            raise ValueError(f"{said}'s {key!r} is {shown}, not text" + " or null" * (key not in ("name", "query")))
    if not as_named(entry["name"]):
        raise ValueError(f"{said} has an empty name")
    return SavedSearch(**entry)


def _written(search: SavedSearch) -> dict:
    """A search as the file keeps it: without a photo, the fields the release before reads."""
    entry = asdict(search)
    if not search.photo:
        for key in _PHOTO_FIELDS:
            entry.pop(key)
    return entry
