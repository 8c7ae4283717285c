"""A named endpoint called with fewer values than it takes: the missing ones at the end take their
defaults, as ``gradio_client`` fills them.

The first release's ``/search_text`` took text, k and min_score, and webui/API.md showed a plain
HTTP call (``POST /gradio_api/call/search_text`` with ``{"data": ["a red circle", 2, 0.0]}``)
sending those three. Folder and dates came later (``/similar`` and ``/search_image`` grew too), and
Gradio refuses a call that leaves any input out (``Blocks.validate_inputs``: "didn't receive enough
input values"), which the caller reads as ``{"error": null}``: every such script broke, while
``gradio_client``, which sends each parameter's default itself, went on.

``install`` has the app do what the client does, for every named endpoint and whatever route the
call came by (``/call``, ``/run``, the queue): where values are missing at the end, each takes the
default Gradio's API info gives its parameter (``Blocks.get_api_info``: the component's value, or
None where the function's parameter defaults to None). It works inside Gradio's own processing: the
login check of ``--auth`` has run before, and no route or ``--root-path`` matters. A full call is handed on as it came; one
that leaves out a value with no default is refused naming what to send.
"""

from __future__ import annotations

import copy
from typing import Any

from gradio import utils

from .api_refusals import Refused

NO_DEFAULT = object()


def install(blocks: Any) -> None:
    """``blocks`` fills in the missing trailing values of a call to any of its named endpoints."""
    process_api = blocks.process_api

    async def with_defaults(block_fn: Any, inputs: list[Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        if isinstance(block_fn, int):
            block_fn = blocks.fns[block_fn]
        return await process_api(block_fn, completed(block_fn, inputs), *args, **kwargs)

    blocks.process_api = with_defaults


def completed(block_fn: Any, inputs: Any) -> Any:
    """``inputs`` with each missing trailing value its default, where ``block_fn`` is a named endpoint
    (not one of the page's own events, nor a batch); a ``Refused`` naming the first value missing that
    has no default."""
    wanted = len(block_fn.inputs)
    if (not isinstance(inputs, list) or len(inputs) >= wanted or block_fn.batch or not block_fn.api_name
            or block_fn.api_visibility == "private"):
        return inputs
    missing = [default(block_fn, index) for index in range(len(inputs), wanted)]
    if any(value is NO_DEFAULT for value in missing):
        names = [label(block_fn, index) for index in range(wanted)]
        first = names[len(inputs) + missing.index(NO_DEFAULT)]
        raise Refused(f"/{block_fn.api_name} takes {wanted} values ({', '.join(names)}); {len(inputs)} came, "
                      f"and {first} has no default: send it")
    return [*inputs, *missing]


def default(block_fn: Any, index: int) -> Any:
    """The value ``gradio_client`` sends for the input at ``index`` left out (Gradio's rule for its API
    info), or ``NO_DEFAULT``. An input Gradio fills itself (a state, one hidden from the API) gets None."""
    block = block_fn.inputs[index]
    if getattr(block, "stateful", False) or getattr(block, "skip_api", False):
        return None
    value = getattr(block, "value", None)
    if value is not None:
        return copy.deepcopy(value)  # the endpoint's processing must not change the component's own
    params = utils.get_function_params(block_fn.fn) if block_fn.fn else []
    if index < len(params) and params[index][1] and params[index][2] is None:
        return None
    return NO_DEFAULT


def label(block_fn: Any, index: int) -> str:
    """The name a caller knows the input at ``index`` by: its function's parameter, else its label."""
    params = utils.get_function_params(block_fn.fn) if block_fn.fn else []
    if index < len(params):
        return params[index][0]
    return str(getattr(block_fn.inputs[index], "label", None) or f"input {index + 1}")
