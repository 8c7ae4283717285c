"""Moved to ``testsupport.imagefactory``; this re-export keeps tests written before the move working."""

from testsupport.imagefactory import *  # noqa: F403
