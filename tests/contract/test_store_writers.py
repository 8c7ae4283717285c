"""Two writers in two processes, taking turns (a watcher and a cron run): nobody's photos vanish."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np

from clipsearch.stores import WriteBatch, open_store
from tests.contract.test_store_contract import DIM, STAMP, rec, vecs
from tests.integration.conftest import REPO

OTHER_WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from clipsearch.encoders.base import normalize
    from clipsearch.stores import ImageRecord, WriteBatch, open_store
    folder, seed, prefix, n, stamp_dim = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    stamp = {"model": "fake", "pretrained": None, "dim": stamp_dim, "image_size": 32, "preprocess": {}}
    vectors = normalize(np.random.default_rng(seed).standard_normal((n, stamp_dim)))
    store = open_store(folder, stamp, create=True)
    store.write(WriteBatch(put=[(ImageRecord(f"{prefix}/{i}.jpg", 100, 1_600_000_000 * 10**9, f"fp-{prefix}-{i}",
                                             640, 480), vectors[i]) for i in range(n)]))
    store.save()
    store.close()
""")


def other_writer(folder, seed: int, prefix: str, n: int) -> np.ndarray:
    """Write ``n`` vectors from another process, as a cron indexer does; returns them."""
    result = subprocess.run([sys.executable, "-c", OTHER_WRITER, str(folder), str(seed), prefix, str(n), str(DIM)],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return vecs(n, seed=seed)


def assert_all_found(store, expected: dict[str, np.ndarray]) -> None:
    assert store.count() == len(expected)
    assert store.check() == []
    lost = [path for path, vector in expected.items() if store.search(vector, 1)[0][0].path != path]
    assert lost == []


def test_a_long_lived_writer_keeps_what_another_process_wrote_meanwhile(tmp_path):
    folder = tmp_path / "idx"
    mine = vecs(40, seed=1)
    watcher = open_store(folder, STAMP, create=True)  # a --watch indexer: opened once, idles
    try:
        watcher.write(WriteBatch(put=[(rec(f"/a/{i}.jpg"), mine[i]) for i in range(30)]))
        watcher.save()
        theirs = other_writer(folder, seed=2, prefix="/b", n=12)  # the cron run, while it idles
        watcher.write(WriteBatch(put=[(rec(f"/a/{i}.jpg"), mine[i]) for i in range(30, 40)]))  # a new file in A
        watcher.save()
        expected = {f"/a/{i}.jpg": mine[i] for i in range(40)} | {f"/b/{i}.jpg": theirs[i] for i in range(12)}
        assert_all_found(watcher, expected)
        more = other_writer(folder, seed=3, prefix="/c", n=5)  # and once more, with a delete in between
        watcher.write(WriteBatch(delete=["/b/0.jpg", "/a/0.jpg"]))
        watcher.save()
        for key in ("/b/0.jpg", "/a/0.jpg"):
            expected.pop(key)
        expected |= {f"/c/{i}.jpg": more[i] for i in range(5)}
        assert_all_found(watcher, expected)
    finally:
        watcher.close()
    fresh = open_store(folder, STAMP)  # what the web app or the next run loads: the newest snapshot
    try:
        assert_all_found(fresh, expected)
    finally:
        fresh.close()


def test_a_writer_sees_deletions_another_process_made_after_its_snapshot(tmp_path):
    folder = tmp_path / "idx"
    mine = vecs(20, seed=4)
    watcher = open_store(folder, STAMP, create=True)
    try:
        watcher.write(WriteBatch(put=[(rec(f"/a/{i}.jpg"), mine[i]) for i in range(20)]))
        watcher.save()
        script = textwrap.dedent(f"""
            from clipsearch.stores import WriteBatch, open_store
            store = open_store({str(folder)!r}, create=True)
            store.write(WriteBatch(delete=[f"/a/{{i}}.jpg" for i in range(3)]))
            store.compact()  # purges the tombstones the watcher would need
            store.close()
        """)
        result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        watcher.write(WriteBatch(put=[(rec("/a/new.jpg"), mine[0])]))
        watcher.save()
        assert_all_found(watcher, {f"/a/{i}.jpg": mine[i] for i in range(3, 20)} | {"/a/new.jpg": mine[0]})
    finally:
        watcher.close()
