"""Files of the same size and time but other inodes or ctimes: one replaced is read, a disk
renumbered at once (mounted again, ``chmod -R``) is trusted (``clipsearch.file_identity``)."""

from __future__ import annotations

from clipsearch.file_identity import MASS_LEAST, replaced
from clipsearch.images import FileStat


def files(n: int, dev: int, start: int = 0) -> list[FileStat]:
    return [FileStat(f"/d{dev}/p{i}.jpg", 100, 5, ino=1000 + i, ctime_ns=7, dev=dev) for i in range(start, start + n)]


def test_one_file_replaced_among_many_is_hashed():
    changed = files(1, dev=1)
    assert replaced(changed, files(50, dev=1, start=1)) == (changed, [])


def test_a_disk_whose_files_nearly_all_changed_ids_is_trusted_and_another_disk_is_not():
    share, local = files(40, dev=2), files(3, dev=1)
    to_hash, trusted = replaced(share + local, files(2, dev=2, start=40) + files(60, dev=1, start=3))
    assert to_hash == local and trusted == share  # 40 of 42 on the share; 3 of 63 on the local disk


def test_a_few_files_are_hashed_even_when_they_are_all_the_disk_holds():
    few = files(MASS_LEAST - 1, dev=3)
    assert replaced(few, []) == (few, [])
    enough = files(MASS_LEAST, dev=3)
    assert replaced(enough, []) == ([], enough)


def test_under_nine_in_ten_of_a_disk_is_hashed():
    changed = files(80, dev=4)
    assert replaced(changed, files(20, dev=4, start=80)) == (changed, [])  # 80%: a folder restored, say
    assert replaced(changed, files(8, dev=4, start=80)) == ([], changed)  # 91%
    assert replaced([], files(5, dev=4)) == ([], [])
