"""A query's term limit (``clipsearch.query.MAX_TERMS``) holds for the terms ``SearchEngine.search``
is given, not only for a query's text: a list of ``QueryTerm``s (the Python API; ``clipsearch search``
with several ``--image`` and words; a page's words and the photo dropped) was searched whatever its
length. A picture counts as a term. A saved search is not saved where its words and its photo could
never run, and one saved before the limit (or by hand) past it says so, naming it, when it is run.
``search --server`` checks a query's size here before any server is asked."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import gradio as gr
import pytest

import cli.search
from clipsearch import InvalidQuery, QueryTerm
from clipsearch.errors import QueryTooLarge
from clipsearch.query import MAX_QUERY_CHARS, MAX_TERMS
from clipsearch.saved import SavedSearch, SavedSearches
from testsupport.imagefactory import photo, save
from testsupport.net import answering
from webui.api_errors import ApiError
from webui.page_outputs import ADDRESS_NAMES, OUTPUT_NAMES
from webui.saved_api import with_saved
from webui.saved_view import SavedView
from webui.tools import ran_saved

WORDS = [f"thing{i}" for i in range(MAX_TERMS)]  # as many words as a query may have
PICTURE_SAID = f"a query has at most {MAX_TERMS} terms joined by + and -, a picture counting as one; " \
               f"this one has {MAX_TERMS + 1} (1 picture)"


def words(n: int) -> str:
    return " + ".join(f"thing{i}" for i in range(n))


@pytest.fixture
def picture(tmp_path):
    return str(save(photo(64, 48, seed=3), tmp_path / "query.jpg"))


def test_the_engine_refuses_terms_past_the_limit_a_picture_counting_and_embeds_none(engine, library, picture,
                                                                                     monkeypatch):
    engine.index_folder(library)
    embedded: list = []
    for name in ("embed_texts", "embed_images"):
        real = getattr(engine.encoder, name)
        monkeypatch.setattr(engine.encoder, name, lambda items, real=real: embedded.append(items) or real(items))
    too_many = [QueryTerm(1.0, text=w) for w in WORDS] + [QueryTerm(1.0, image=picture)]
    for search in (engine.search, engine.moments):
        with pytest.raises(QueryTooLarge, match=re.escape(PICTURE_SAID)):
            search(too_many)
    with pytest.raises(InvalidQuery, match=f"this one has {MAX_TERMS + 1}$"):  # words alone, as the text says it
        engine.search([QueryTerm(1.0, text=f"thing{i}") for i in range(MAX_TERMS + 1)])
    assert embedded == []
    assert len(engine.search(too_many[1:], k=3)) == 3  # at the limit, a picture among them: searched


def test_the_command_line_refuses_words_and_images_past_the_limit_before_it_opens_an_index(tmp_path, picture,
                                                                                          capsys):
    missing = str(tmp_path / "no-index")  # were the index opened first, this would be "no index" (exit 1)
    with pytest.raises(SystemExit) as end:
        cli.search.main(["search", words(MAX_TERMS - 1), "--image", picture, "--image", picture, "--index", missing])
    err = capsys.readouterr().err
    assert end.value.code == 2 and err.startswith("usage: python -m clipsearch search ")
    assert "a picture counting as one; this one has 11 (2 pictures)" in err, err
    assert cli.search.main(["search", words(MAX_TERMS - 1), "--image", picture, "--index", missing]) == 1
    assert "no index" in capsys.readouterr().err  # at the limit: on to the index


@pytest.fixture
def server():
    """A server that records what it is asked (``server.asked``), and answers no result."""
    asked: list[str] = []
    with answering(200, {"query": "", "results": [], "took_ms": 1}, asked) as url:
        yield SimpleNamespace(url=url, asked=asked)


def test_search_server_checks_a_query_past_the_limits_here_and_asks_no_server(server, picture, capsys):
    too_long = "a dog on a beach at sunset, " * 100
    for argv, said in (([words(MAX_TERMS + 1)], f"a query has at most {MAX_TERMS} terms joined by + and -; this one has 11"),
                       ([too_long], f"a query is at most {MAX_QUERY_CHARS:,} characters long; this one has "
                                    f"{len(too_long.strip()):,}"),
                       ([words(MAX_TERMS), "--image", picture], PICTURE_SAID)):
        with pytest.raises(SystemExit) as end:
            cli.search.main(["search", *argv, "--server", server.url])
        err = capsys.readouterr().err
        assert end.value.code == 2 and err.startswith("usage: python -m clipsearch search "), err
        assert f"search: error: {said}" in err, err
    assert server.asked == []
    assert cli.search.main(["search", words(MAX_TERMS), "--server", server.url]) == 0  # at the limit: asked
    assert len(server.asked) == 1


def test_a_saved_search_whose_words_and_photo_could_never_run_is_not_saved(settings, picture):
    settings.index_dir.mkdir(parents=True)
    saved = SavedSearches(settings.index_dir)
    with pytest.raises(QueryTooLarge, match=r"a picture counting as one; this one has 11 \(1 picture\)"):
        saved.save(SavedSearch("Too many", words(MAX_TERMS)), photo=picture)
    assert saved.all() == []
    kept = saved.save(SavedSearch("At the limit", words(MAX_TERMS - 1)), photo=picture)
    assert len(kept.terms(settings.index_dir)) == MAX_TERMS


def saved_before_the_limit(index_dir, picture) -> SavedSearches:
    """``Eleven``: eleven words; ``Ten and a photo``: ten words and a photo, as a release without
    the limit saved them (the files edited, as its own saves can no longer make them)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    saved = SavedSearches(index_dir)
    saved.save(SavedSearch("Eleven", "a"))
    saved.save(SavedSearch("Ten and a photo", "b"), photo=picture)
    for file, query in ((saved.path, words(MAX_TERMS + 1)), (saved.photo_file, words(MAX_TERMS))):
        entries = json.loads(file.read_text(encoding="utf-8"))
        entries["searches"][0]["query"] = query
        file.write_text(json.dumps(entries), encoding="utf-8")
    return saved


def said_of(name: str) -> str:
    return f"the saved search {name!r} cannot run: a query has at most {MAX_TERMS} terms"


def test_a_saved_search_past_the_limit_says_so_naming_it_where_it_is_run(engine, library, settings, picture,
                                                                         capsys, monkeypatch):
    engine.index_folder(library)
    saved = saved_before_the_limit(settings.index_dir, picture)
    for name in ("Eleven", "Ten and a photo"):
        kept = saved.get(name)
        with pytest.raises(QueryTooLarge, match=said_of(name)):  # the library
            kept.terms(settings.index_dir)
        ended = cli.search.main(["search", "--saved", name, "--index", str(settings.index_dir)])  # the command line
        err = capsys.readouterr().err
        assert ended == 2 and err.startswith("usage: python -m clipsearch search ") and said_of(name) in err and "Save it again with fewer words" in err, err
        handlers = SimpleNamespace(settings=settings, engine=lambda: engine)
        with pytest.raises(ApiError) as refused:  # GET /api/search?saved=NAME
            with_saved(handlers, {"saved": name}, None)
        assert refused.value.status == 400 and said_of(name) in refused.value.body()["error"]
    assert "(its photo counts as one of the 10 terms)" in err
    from webui.handlers import Handlers
    real = Handlers(engine, settings)
    try:
        with pytest.raises(gr.Error) as refused:  # the MCP tool run_saved_search, /run_saved_search
            ran_saved(real, "Ten and a photo", 5, 0.0)
        assert said_of("Ten and a photo") in refused.value.message
    finally:
        real.close()


def test_the_page_opens_a_saved_search_past_the_limit_in_its_boxes_and_says_so_searching_nothing(settings, picture):
    saved_before_the_limit(settings.index_dir, picture)
    searched: list[str] = []
    page = SimpleNamespace(handlers=SimpleNamespace(settings=settings),
                           search=lambda text, *rest: searched.append(text) or tuple(OUTPUT_NAMES))
    opened = SavedView(page).open("Eleven", 20, 0.0, "relevance", True)
    assert opened[0] == words(MAX_TERMS + 1) and searched == []
    status = opened[len(ADDRESS_NAMES) + 2 + OUTPUT_NAMES.index("status")]
    assert status.startswith("⚠️") and "cannot run: a query has at most 10 terms" in status, status
    assert "Save it again with fewer words, or forget it" in status



def test_ten_words_and_a_picture_are_refused_before_the_picture_is_decoded(engine, library, settings, picture,
                                                                           monkeypatch):
    """The page's search (``Handlers.query``) and ``POST /api/search`` decoded the picture (up to 50 MB
    of it) before the term limit refused the query; now the query's size is checked first."""
    import webui.handlers
    import webui.rest
    from webui.handlers import Handlers

    engine.index_folder(library)
    decoded: list[str] = []
    for module in (webui.handlers, webui.rest):
        real = module.query_picture
        monkeypatch.setattr(module, "query_picture",
                            lambda *args, real=real, **kw: decoded.append(kw.get("path")) or real(*args, **kw))
    handlers = Handlers(engine, settings)
    with open(picture, "rb") as handle:
        upload = handle.read()
    try:
        with pytest.raises(QueryTooLarge, match=re.escape(PICTURE_SAID)):  # the page
            handlers.query(words(MAX_TERMS), picture, 5)
        with pytest.raises(ApiError) as refused:  # POST /api/search
            webui.rest.search(handlers, None, {"q": words(MAX_TERMS)}, upload)
        assert refused.value.status == 400 and PICTURE_SAID in refused.value.body()["error"]
        assert decoded == []
        assert handlers.query(words(MAX_TERMS - 1), picture, 5)  # at the limit: decoded and searched
        assert webui.rest.search(handlers, None, {"q": words(MAX_TERMS - 1)}, upload)["results"]
        assert decoded == ["the uploaded file", "the uploaded file"]
    finally:
        handlers.close()
