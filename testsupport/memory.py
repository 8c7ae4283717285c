"""Peak memory of a real indexer process: ``python -c MEASURED_INDEXER_RUN ARGS`` runs
``python -m indexer ARGS`` and prints the process's peak resident memory (VmHWM) on stderr."""

from __future__ import annotations

MEASURED_INDEXER_RUN = """
import runpy, sys
sys.argv = ["indexer", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("indexer", run_name="__main__")
except SystemExit as exc:
    code = exc.code
status = open("/proc/self/status").read()
peak = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
print("PEAK_RSS_KB", peak, file=sys.stderr)
sys.exit(code)
"""


def peak_rss_mb(stderr: str) -> float:
    """The peak that a ``MEASURED_INDEXER_RUN`` printed, in MB (that process alone)."""
    return int(stderr.split("PEAK_RSS_KB")[-1].split()[0]) / 1024
