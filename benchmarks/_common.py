"""Helpers shared by the benchmark scripts: machine load, memory, percentiles, markdown tables.

Benchmarks are scripts, never tests: they print markdown tables and may save them under
``benchmarks/results/`` (git-ignored).
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (0 where the OS does not say)."""
    try:
        return os.getloadavg()
    except OSError:
        return (0.0, 0.0, 0.0)


def busy_cores(seconds: float = 1.0) -> float:
    """How many cores were busy (any process) over the next ``seconds``, from /proc/stat."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except OSError:
        return float("nan")
    total = max(1, total1 - total0)
    return (os.cpu_count() or 1) * (1 - (idle1 - idle0) / total)


def load_line() -> str:
    """One line describing the machine and how busy it is right now."""
    one, five, _ = load_average()
    return (
        f"{platform.node()} · {os.cpu_count()} cores · load average {one:.2f} (1 min), "
        f"{five:.2f} (5 min) · {busy_cores(1.0):.2f} cores busy just before measuring"
    )


def rss_bytes() -> int:
    """Resident memory of this process now."""
    return _status_kb("VmRSS") * 1024


def peak_rss_bytes() -> int:
    """The highest resident memory of this process so far."""
    return _status_kb("VmHWM") * 1024


def reset_peak_rss() -> bool:
    """Start ``peak_rss_bytes`` again from the memory resident now (Linux 4.0 and later); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _status_kb(key: str) -> int:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def percentiles_ms(seconds: list[float], qs=(50, 99)) -> list[float]:
    """Percentiles of durations, in milliseconds."""
    if not seconds:
        return [float("nan")] * len(qs)
    return [float(np.percentile(np.asarray(seconds) * 1000.0, q)) for q in qs]


def gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A markdown table; floats keep the formatting the caller gave them (pass strings)."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def save_result(name: str, text: str) -> Path:
    """Write ``text`` to ``benchmarks/results/<name>`` and return the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(text)
    return path


def dir_size(folder: Path) -> int:
    total = 0
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            total += entry.stat(follow_symlinks=False).st_size
    return total
