"""How the REST routes (``webui/rest.py``) are registered: each ``GET`` route answers ``HEAD`` too,
one operation in FastAPI's schema.

A route registered for both methods at once is one operation in ``/openapi.json`` with two
methods, each given the same operation ID, which FastAPI warns of ("Duplicate Operation ID") and a
client generated from the schema trips over (and which of the two methods the ID named changed with
the process's hash seed). The ``HEAD`` twin stays out of the schema: curl -I, link checkers and
uptime monitors get the headers a ``GET`` would, and each operation keeps one ID
(``search_get_api_search_get``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


def reading(router: APIRouter, path: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator: the function answers ``GET path`` (in the schema) and ``HEAD path`` (not in it)."""
    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        router.add_api_route(path, endpoint, methods=["GET"])
        router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)
        return endpoint
    return register
