"""What the call API and the MCP tools say of a request they refuse (``webui/api_refusals.py``): the
caller hears why; Gradio prints no traceback; a failure of the index itself is logged in one line."""

from __future__ import annotations

import logging

import gradio as gr

from clipsearch import IndexNotFound, IndexUnusable, InvalidQuery
from webui.api_refusals import Refused, refused
from webui.refusals import NoIndexYet, NotIndexed


def test_a_refusal_is_said_to_the_caller_without_a_traceback(caplog):
    with caplog.at_level(logging.WARNING):
        error = refused(InvalidQuery("k must be a whole number"))
    assert isinstance(error, Refused) and error.message == "k must be a whole number"
    assert error.print_exception is False and not caplog.records  # the request's fault: nothing logged


def test_no_index_says_how_to_build_one_and_a_path_what_it_must_be(tmp_path):
    for exc in (NoIndexYet("### No index yet (the page's words)"), IndexNotFound(f"no index in {tmp_path}")):
        error = refused(exc, tmp_path)
        assert error.message == f"No index in {tmp_path} yet: build one with `python -m indexer FOLDER --index {tmp_path}`."
        assert error.title == "No index yet" and not error.print_exception
    error = refused(NotIndexed("/nowhere.jpg"))
    assert error.message == 'That photo is not in the index: pass a "file" exactly as a search returned it.'
    assert error.title == "Not indexed"


def test_an_error_of_gradio_goes_as_it_is():
    raised = gr.Error("Send a picture file.", title="Not a picture")
    assert refused(raised) is raised


def test_a_failure_of_the_index_itself_is_logged_in_one_line(caplog):
    with caplog.at_level(logging.WARNING, logger="webui.api_refusals"):
        error = refused(IndexUnusable("the index's vectors cannot be read"))
    assert error.message == "the index's vectors cannot be read" and not error.print_exception
    assert [r.getMessage() for r in caplog.records] == ["API request failed: the index's vectors cannot be read"]
