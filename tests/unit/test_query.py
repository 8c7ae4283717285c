"""The query syntax: terms joined by ` + ` and ` - `, each with an optional `N:` weight."""

from __future__ import annotations

import pytest

from clipsearch import InvalidQuery, QueryTerm, parse_query


def terms(text: str) -> list[tuple[float, str]]:
    return [(t.weight, t.text) for t in parse_query(text)]


def test_terms_signs_and_weights():
    assert terms("2:dog + grass") == [(2.0, "dog"), (1.0, "grass")]
    assert terms("beach + sunset - people") == [(1.0, "beach"), (1.0, "sunset"), (-1.0, "people")]
    assert terms("0.5: red car - 1.5:blue") == [(0.5, "red car"), (-1.5, "blue")]
    assert terms("a t-shirt + c++") == [(1.0, "a t-shirt"), (1.0, "c++")]
    assert parse_query("") == []
    assert parse_query("cat")[0] == QueryTerm(1.0, text="cat")


@pytest.mark.parametrize("text", ["3:10 to Yuma", "16:9 screenshots", "12:30 lunch", "1:1"])
def test_a_number_colon_digit_is_text_not_a_weight(text):
    assert terms(text) == [(1.0, text)]


def test_a_weighted_term_may_itself_start_with_a_time():
    assert terms("2:3:10 to Yuma - 2001") == [(2.0, "3:10 to Yuma"), (-1.0, "2001")]


def test_an_explicit_weight_makes_the_rest_literal():
    assert terms("1:2:dog") == [(1.0, "2:dog")]


def test_a_weight_without_a_term_is_an_error():
    with pytest.raises(InvalidQuery, match="no term after it"):
        parse_query("2:")


@pytest.mark.parametrize("text", ["-", "+", "- -", "+ +", "a + -", "2:-", "a - +"])
def test_a_sign_where_a_term_should_be_is_an_error_not_words_to_search(text):
    """A lone "+" or "-" was searched as the text "+" (CLIP finds something for anything), and
    "- -" as "everything unlike a minus sign": a slip, said as such."""
    with pytest.raises(InvalidQuery, match="a sign with no term after it"):
        parse_query(text)


def test_a_sign_inside_or_beside_words_stays_text():
    assert terms("t-shirt") == [(1.0, "t-shirt")]
    assert terms("a -") == [(1.0, "a -")]
    assert terms("-a") == [(-1.0, "a")]
    assert terms("C++ code") == [(1.0, "C++ code")]
