"""Saved searches made and forgotten by a script (REST ``POST`` and ``DELETE /api/saved``) or an
assistant (the MCP tool ``save_search``), with the checks the page and ``clipsearch saved add``
make (``clipsearch.saved``): words, an example photo (an indexed one by its path, or a picture
sent with the request) or a part of it, a folder and dates.
"""

from __future__ import annotations

import os

from clipsearch import UnreadableImage
from clipsearch.saved import SavedSearch, SavedSearches

from .api_errors import ApiError, translated
from .filters import api_filter
from .handlers import Handlers, NotIndexed
from .paths import local_path


def save_from_api(handlers: Handlers, name: str, query: str = "", folder: str = "", since: str = "",
                  until: str = "", path: str = "", region: str = "", image: bytes | None = None,
                  image_name: str | None = None) -> tuple[dict, bool]:
    """Save (or replace) the search ``name``: ``path``, an indexed photo, or ``image``, a picture's
    bytes (``image_name``: its file's name), with ``region`` of it. Returns it as ``GET /api/saved``
    lists it, and whether it replaced a search of that name. ``ValueError``, ``InvalidQuery`` or ``UnreadableImage`` say what is wrong; ``NotIndexed``
    for a path the index does not hold (no other file is ever read)."""
    where = api_filter(folder, since, until)
    path = local_path(str(path or "").strip())
    if path and image is not None:
        raise ValueError("give a picture or the path of an indexed photo, not both")
    photo: str | bytes | None = image
    if path:
        record = handlers.engine().record(path)
        if record is None:
            raise NotIndexed(path)
        photo, image_name = record.path, os.path.basename(record.path)
    search = SavedSearch(str(name or ""), str(query or ""), *(
        (where.folder, where.date_from, where.date_to) if where else (None, None, None)),
        region=str(region or "").strip() or None)
    kept, replaced = _saved(handlers).put(search, photo, image_name)
    return kept.shown(), replaced


def saved_list(handlers: Handlers) -> dict:
    """GET /api/saved: ``{"searches": [{name, query, folder, since, until, photo_name, region}]}``, by name."""
    with translated():
        return {"searches": [s.shown() for s in _saved(handlers).all()]}


def _saved(handlers: Handlers) -> SavedSearches:
    return SavedSearches(handlers.settings.index_dir)


def with_saved(handlers: Handlers, fields: dict[str, str], image: bytes | None) -> tuple[dict[str, str], str | None]:
    """The request's fields with the saved search ``saved`` filled in (a 404 when there is none, a 503
    first while there is no index yet, as for any search), and its photo's copy (None: it has none)."""
    name = fields["saved"].strip()
    with translated():
        handlers.engine()
        kept = _saved(handlers).get(name)
        if kept is not None:
            kept.runnable()  # a 400 naming one saved past a query's limits (before there were any)
    if kept is None:
        raise _unknown(handlers, name)
    if fields.get("q"):
        raise ApiError(400, "give q=TEXT or saved=NAME, not both")
    if kept.photo and (image is not None or fields.get("region")):
        raise ApiError(400, f"the saved search {kept.name!r} has a photo of its own: give saved=NAME alone")
    kept = kept.narrowed(fields.get("folder"), fields.get("since"), fields.get("until"))
    return ({**fields, "q": kept.query, "folder": kept.folder or "", "since": kept.since or "", "until": kept.until or "",
             **({"region": kept.region or ""} if kept.photo else {})}, kept.photo_path(handlers.settings.index_dir))


def saved_made(handlers: Handlers, fields: dict[str, str], image: bytes | None, image_name: str | None) -> dict:
    """POST /api/saved: ``{"saved": {...}, "replaced": bool}``, the search as ``GET /api/saved`` lists
    it, and whether it replaced one of that name."""
    if not (fields.get("name") or "").strip():
        raise ApiError(400, "give the saved search a name (field 'name')")
    with translated():
        try:
            kept, replaced = save_from_api(handlers, fields["name"], fields.get("q") or "", fields.get("folder") or "",
                                           fields.get("since") or "", fields.get("until") or "",
                                           fields.get("file") or "", fields.get("region") or "", image, image_name)
            return {"saved": kept, "replaced": replaced}
        except NotIndexed:
            raise ApiError(404, "that photo is not in the index (give file=PATH of an indexed photo, or "
                                "send a picture in the field 'image')") from None
        except UnreadableImage as exc:  # an indexed photo gone or broken since: nothing was uploaded
            if image is not None:
                raise
            raise ApiError(404, f"that photo cannot be read now ({exc.reason})") from None


def saved_forgotten(handlers: Handlers, fields: dict[str, str]) -> dict:
    """DELETE /api/saved?name=NAME: ``{"forgot": NAME}``; a 404 when there is none, a 400 without a name."""
    name = (fields.get("name") or "").strip()
    if not name:
        raise ApiError(400, "give name=NAME, the saved search to forget")
    with translated():
        if not _saved(handlers).remove(name):  # its photo's copy goes with it
            raise _unknown(handlers, name)
    return {"forgot": name}


def _unknown(handlers: Handlers, name: str) -> ApiError:
    """The 404 for a name no search is saved under: its body names it (``unknown_saved_search``) and
    lists those saved (``saved_searches``), so that a client tells it from a route that is not there
    and says what ``clipsearch search --saved`` says of it here."""
    with translated():
        names = [s.name for s in _saved(handlers).all()]
    return ApiError(404, f"no saved search is called {name!r} (GET /api/saved lists them)",
                    unknown_saved_search=name, saved_searches=names)
