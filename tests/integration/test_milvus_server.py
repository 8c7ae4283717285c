"""The Milvus store against a real Milvus server: the whole store contract, then the indexer.

Needs a server on this machine, so it skips unless told where one is (see docs/scaling.md):

    CLIPSEARCH_MILVUS_URI=http://127.0.0.1:19530           a running server, or
    CLIPSEARCH_MILVUS_SERVER_PYTHON=/tmp/milvus-venv/bin/python   start one (PyPI ``milvus``)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install -r requirements-scale.txt)")

from clipsearch import SearchEngine, Settings  # noqa: E402
from clipsearch.stores import open_store  # noqa: E402
from tests.contract import test_store_contract as contract  # noqa: E402
from tests.integration.conftest import run_indexer  # noqa: E402
from testsupport.milvus_server import PYTHON_ENV, LocalMilvusServer  # noqa: E402

URI_ENV = "CLIPSEARCH_MILVUS_URI"
CONTRACT = sorted(name for name in dir(contract) if name.startswith("test_"))
NO_SERVER = (f"no Milvus server: set {URI_ENV} to a running one, or {PYTHON_ENV} to the python of a venv "
             "with the PyPI 'milvus' package (docs/scaling.md)")
# Decided before any fixture runs (the session fixtures would render and index a library first).
pytestmark = pytest.mark.skipif(not (os.environ.get(URI_ENV) or os.environ.get(PYTHON_ENV)), reason=NO_SERVER)


@pytest.fixture(scope="module")
def milvus_uri():
    """A Milvus server on 127.0.0.1: the one named by the environment, or one started here."""
    if os.environ.get(URI_ENV):
        yield os.environ[URI_ENV]
        return
    python = os.environ.get(PYTHON_ENV)
    if not python or not os.path.exists(python):
        pytest.skip(f"{PYTHON_ENV}={python} does not exist; " + NO_SERVER)
    data = tempfile.mkdtemp(prefix="milvus", dir="/tmp")
    try:
        with LocalMilvusServer(python, data) as server:
            yield server.uri
    finally:
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def collection(milvus_uri):
    """A fresh collection name on the server, dropped afterwards."""
    from pymilvus import MilvusClient

    name = f"t{uuid.uuid4().hex[:12]}"
    yield f"{milvus_uri}#{name}"
    client = MilvusClient(milvus_uri)
    for each in (name, f"{name}_meta"):
        if client.has_collection(each):
            client.drop_collection(each)
    client.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", CONTRACT)
def test_store_contract_on_a_server(name, collection, tmp_path):
    stores = []

    def make(create: bool = True, stamp=contract.STAMP):
        store = open_store(tmp_path / "idx", stamp, create=create, kind="milvus", uri=collection)
        stores.append(store)
        return store

    make.kind = "milvus"  # as the contract's own fixture marks it
    test = getattr(contract, name)
    try:
        test(make, tmp_path) if "tmp_path" in test.__code__.co_varnames else test(make)
    finally:
        for store in stores:
            store.close()


@pytest.mark.slow
def test_indexer_into_a_server_matches_the_local_index(sample_library, demo_engine, collection, tmp_path):
    index = tmp_path / "index"
    args = [str(sample_library), "--index", str(index), "--model", "demo", "--precision", "fp32",
            "--store", "milvus", "--milvus-uri", collection, "--json"]
    first = run_indexer(*args)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["added"] == 300
    again = run_indexer(str(sample_library), "--index", str(index), "--json")  # the folder remembers
    assert again.returncode == 0, again.stderr
    assert (json.loads(again.stdout)["unchanged"], json.loads(again.stdout)["embedded"]) == (300, 0)

    engine = SearchEngine.for_reading(Settings(index_dir=index))
    try:
        assert engine.info()["count"] == 300
        local = {r.path: r for r in demo_engine.store.records()}
        assert {r.path: r for r in engine.store.records()} == local
        for path in list(local)[:50]:
            assert float(np.dot(engine.store.vector(path), demo_engine.store.vector(path))) > 0.999
        for query in ("a red circle", "a blue square on a white background"):
            want = demo_engine.search_text(query, k=10)
            got = engine.search_text(query, k=10)
            # Approximate search on fresh segments (Milvus indexes them after the flush): the same
            # best hit, the same scores, nearly the same set.
            assert got[0].path == want[0].path
            np.testing.assert_allclose([h.score for h in got[:5]], [h.score for h in want[:5]], atol=2e-3)
            assert len({h.path for h in got} & {h.path for h in want}) >= 8
    finally:
        engine.close()
