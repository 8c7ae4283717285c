"""A query's size is limited (``clipsearch.query``: ``MAX_TERMS`` terms, ``MAX_QUERY_CHARS``
characters): each term is embedded, and with the automatic cut-off searched and judged, while
every other query waits its turn, so ``thing0 + thing1 + ... + thing999`` held a shared server for
seconds. Every front end refuses a longer one as it refuses ``2:``, saying the limit and what it
was given, and a saved search is not saved with it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

import cli.search
from clipsearch import InvalidQuery, parse_query
from clipsearch.query import MAX_QUERY_CHARS, MAX_TERMS
from clipsearch.saved import SavedSearch, SavedSearches
from webui import rest
from webui.api_errors import ApiError
from webui.handlers import SORT_RELEVANCE, Handlers
from webui.saved_api import saved_made
from webui.saved_view import SavedView
from webui.tools import saved_by_tool, video_moments

ROOT = Path(__file__).resolve().parents[2]


def joined(n: int) -> str:
    """``thing0 + thing1 - thing2 + ...``: ``n`` terms, some subtracted, one weighted."""
    return "2:thing0" + "".join(f" {'-' if i % 3 == 2 else '+'} thing{i}" for i in range(1, n))


TOO_MANY = joined(MAX_TERMS + 1)
TERMS_SAID = f"at most {MAX_TERMS} terms joined by + and -; this one has {MAX_TERMS + 1}"
TOO_LONG = "a dog on a beach at sunset, " * 100  # 2,800 characters: one term, but no caption is that long
CHARS_SAID = f"at most {MAX_QUERY_CHARS:,} characters long; this one has {len(TOO_LONG.strip()):,}"


@pytest.fixture
def handlers(engine, library, settings):
    engine.index_folder(library)
    h = Handlers(engine, settings)
    yield h
    h.close()


def test_the_limits_are_kept_and_what_is_past_them_refused_saying_the_limit_and_what_was_given():
    assert len(parse_query(joined(MAX_TERMS))) == MAX_TERMS
    assert parse_query(joined(MAX_TERMS))[0].weight == 2.0
    assert len(parse_query("a" * MAX_QUERY_CHARS)[0].text) == MAX_QUERY_CHARS
    assert len(parse_query(f"  {'a' * MAX_QUERY_CHARS}\n")) == 1  # the spaces around it are not counted
    with pytest.raises(InvalidQuery, match=TERMS_SAID.replace("+", r"\+")):
        parse_query(TOO_MANY)
    with pytest.raises(InvalidQuery, match=CHARS_SAID):
        parse_query(TOO_LONG)
    with pytest.raises(InvalidQuery, match="this one has 10,887$"):
        parse_query(" + ".join(f"thing{i}" for i in range(1000)))  # 10,887 characters: refused before it is split
    with pytest.raises(InvalidQuery, match=f"this one has {4 * 10**6 - 3:,}$"):
        parse_query(" + ".join(["x"] * 10**6))  # megabytes: not split into a million terms first


def test_the_engine_embeds_nothing_of_a_query_past_the_limit(engine, library, monkeypatch):
    engine.index_folder(library)
    embedded, embed = [], engine.encoder.embed_texts
    monkeypatch.setattr(engine.encoder, "embed_texts", lambda texts: embedded.append(texts) or embed(texts))
    for text in (TOO_MANY, TOO_LONG):
        with pytest.raises(InvalidQuery):
            engine.search(text)
        with pytest.raises(InvalidQuery):
            engine.search_text(text)
    assert embedded == []


def test_the_command_line_says_it_as_a_usage_error_and_saves_nothing(tmp_path, capsys):
    for query, said in ((TOO_MANY, TERMS_SAID), (TOO_LONG, CHARS_SAID)):
        with pytest.raises(SystemExit) as end:
            cli.search.main(["search", query, "--index", str(tmp_path)])
        err = capsys.readouterr().err
        assert end.value.code == 2 and err.startswith("usage: python -m clipsearch search ")
        assert f"search: error: a query is {said}" in err or f"search: error: a query has {said}" in err, err
        assert cli.search.main(["saved", "add", "Too many", query, "--index", str(tmp_path)]) == 2
        assert said in capsys.readouterr().err
    assert SavedSearches(tmp_path).all() == []
    with pytest.raises(SystemExit):
        cli.search.main(["search", "--help"])
    assert f"(at most {MAX_TERMS} terms, {MAX_QUERY_CHARS:,} characters)" in " ".join(capsys.readouterr().out.split())


def test_the_page_says_it_in_the_status_line_and_keeps_its_results(handlers):
    gallery, results, shown, status, _ = handlers.search(TOO_MANY, None, 20, 0.0, SORT_RELEVANCE, "", "", "")
    assert gallery == results == shown == gr.skip()  # the previous results stay
    assert status.startswith("⚠️") and f"this one has {MAX_TERMS + 1}" in status and f"at most {MAX_TERMS}" in status
    status = handlers.search(TOO_LONG, None, 20, 0.0, SORT_RELEVANCE, "", "", "")[3]
    assert status.startswith("⚠️") and CHARS_SAID in status


def test_the_call_api_and_the_mcp_tools_answer_with_an_error_that_says_it(handlers, settings):
    for query, said in ((TOO_MANY, TERMS_SAID), (TOO_LONG, CHARS_SAID)):
        with pytest.raises(gr.Error) as refused:  # /search_text and search_photos_by_text
            handlers.api_search_text(query, 5)
        assert said in refused.value.message
        with pytest.raises(gr.Error) as refused:  # /search_videos and search_videos_by_text
            video_moments(handlers, query, 5, 0.0, "", "", "")
        assert said in refused.value.message
        with pytest.raises(gr.Error) as refused:  # save_search
            saved_by_tool(handlers, "Too many", query, "", "", "", "", "")
        assert said in refused.value.message
    assert SavedSearches(settings.index_dir).all() == []


def test_the_rest_route_answers_400_with_it_and_saves_nothing(handlers, settings):
    for query, said in ((TOO_MANY, TERMS_SAID), (TOO_LONG, CHARS_SAID)):
        with pytest.raises(ApiError) as refused:
            rest.search(handlers, None, {"q": query}, None)
        assert refused.value.status == 400 and said in refused.value.body()["error"]
        with pytest.raises(ApiError) as refused:
            saved_made(handlers, {"name": "Too many", "q": query}, None, None)
        assert refused.value.status == 400 and said in refused.value.body()["error"]
    assert SavedSearches(settings.index_dir).all() == []


def test_a_saved_search_past_the_limit_is_not_saved_from_the_library_or_the_page(settings, monkeypatch):
    settings.index_dir.mkdir(parents=True)  # saved beside an index
    with pytest.raises(InvalidQuery, match=f"this one has {MAX_TERMS + 1}"):
        SavedSearches(settings.index_dir).save(SavedSearch("Too many", TOO_MANY))
    warned: list[str] = []
    monkeypatch.setattr(gr, "Warning", warned.append)
    page = SimpleNamespace(handlers=SimpleNamespace(settings=settings), dropped=lambda image: None)
    assert SavedView(page).save("Too long", TOO_LONG, "", "", "") == (gr.skip(), gr.skip())
    assert len(warned) == 1 and warned[0].startswith("Not saved: a query is at most"), warned
    assert f"{len(TOO_LONG.strip()):,}" in warned[0]
    assert SavedSearches(settings.index_dir).all() == []


def test_the_documentation_states_the_limits_the_code_keeps():
    terms, chars = f"at most {MAX_TERMS} terms", f"{MAX_QUERY_CHARS:,} characters"
    for doc in ("README.md", "webui/API.md"):
        text = " ".join((ROOT / doc).read_text(encoding="utf-8").split())
        assert f"{terms} and {chars}" in text, doc
    tools = " ".join((ROOT / "webui" / "tools.py").read_text(encoding="utf-8").split())
    assert tools.count(f"{terms}, {chars}") == 2  # search_photos_by_text's and search_videos_by_text's
