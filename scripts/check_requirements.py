"""Exit 0 when every requirement in the given files is installed at an accepted version.

scripts/setup.sh runs it first, so that a re-run over a complete environment takes a fraction of
a second instead of a pip resolve. Standard library plus the `packaging` that pip carries; when
that cannot be imported, or a line is not understood, it answers "no" and pip decides.

    python scripts/check_requirements.py requirements.txt [requirements-dev.txt ...]
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

try:
    from packaging.requirements import InvalidRequirement, Requirement
except ImportError:  # pragma: no cover - pip vendors it; a python without pip cannot install anyway
    try:
        from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
    except ImportError:
        sys.exit(1)


def requirement_lines(path: Path, seen: set[Path] | None = None) -> list[str]:
    """The requirement lines of a file, following `-r other.txt` includes."""
    seen = seen if seen is not None else set()
    path = path.resolve()
    if path in seen:
        return []
    seen.add(path)
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            lines += requirement_lines(path.parent / line.split(None, 1)[1], seen)
        else:
            lines.append(line)
    return lines


def missing(lines: list[str]) -> list[str]:
    """The lines not satisfied by what is installed (an option line counts as not satisfied)."""
    out = []
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            out.append(line)
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            out.append(line)
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            out.append(f"{line} (installed: {version})")
    return out


def main(argv: list[str]) -> int:
    lines = [line for name in argv for line in requirement_lines(Path(name))]
    unmet = missing(lines)
    for line in unmet:
        print(f"not installed: {line}", file=sys.stderr)
    return 1 if unmet else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
