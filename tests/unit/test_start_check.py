"""Gradio's start-up check, asked again while a busy machine builds the first page (``webui.start_check``)."""

from __future__ import annotations

from webui import start_check
from webui.start_check import TIMED_OUT, patient


class Clock:
    """A clock that each check moves on by what it took."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def checks(clock: Clock, answers: list[tuple[bool, float]]):
    asked = []

    def check(url: str) -> bool:
        ok, took = answers[len(asked)]
        asked.append(url)
        clock.now += took
        return ok

    return check, asked


def test_a_check_that_timed_out_is_asked_again_until_the_server_answers():
    clock = Clock()
    check, asked = checks(clock, [(False, TIMED_OUT), (False, TIMED_OUT), (True, 0.8)])
    assert patient(check, patience=60, clock=clock)("http://127.0.0.1:7860/")
    assert len(asked) == 3


def test_a_quick_no_stands_and_patience_ends():
    clock = Clock()
    check, asked = checks(clock, [(False, 0.01)])  # refused at once: nothing listening, a proxy
    assert not patient(check, patience=60, clock=clock)("http://127.0.0.1:7860/") and len(asked) == 1
    clock = Clock()
    check, asked = checks(clock, [(False, TIMED_OUT)] * 30)
    assert not patient(check, patience=10, clock=clock)("http://127.0.0.1:7860/")
    assert len(asked) == 4  # 3, 6, 9, 12 s: past the patience


def test_install_makes_gradios_own_check_patient_once(monkeypatch):
    from gradio import networking

    monkeypatch.setattr(networking, "url_ok", networking.url_ok)  # put back after the test
    assert start_check.install() and getattr(networking.url_ok, "patient", False)
    installed = networking.url_ok
    assert start_check.install() and networking.url_ok is installed
