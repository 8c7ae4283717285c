"""Moved to ``testsupport.load``; this re-export keeps tests written before the move working."""

from testsupport.load import *  # noqa: F403
