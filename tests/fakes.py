"""Moved to ``testsupport.fakes``; this re-export keeps tests written before the move working."""

from testsupport.fakes import *  # noqa: F403
