#!/usr/bin/env bash
# Install clipsearch's requirements, and with --dev what the tests need (pytest, ruff, Playwright,
# Debian's Chromium at /usr/bin/chromium, and the fonts the OCR tests render with).
#
# Where: an active virtual environment; else the project's .venv; else python3 itself when it may
# install packages; else (Debian's and Ubuntu's python3, PEP 668) a new .venv made here
# (scripts/python-env.sh). Safe to run again: when everything is installed it returns in about a
# second without asking pip.
#
# Usage: bash scripts/setup.sh [--dev] [--venv-only]
#   --venv-only   choose (or create) the environment, check that pip runs in it, print its python
#                 and install nothing
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
dev=0 venv_only=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --venv-only) venv_only=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/python-env.sh
. "$root/scripts/python-env.sh"
active_before="${VIRTUAL_ENV:-}"
use_project_python "$root"

if (( venv_only )); then
  python -m pip --version >&2
  echo "$CLIPSEARCH_PYTHON"
  exit 0
fi

requirements=(requirements.txt)
(( dev )) && requirements+=(requirements-dev.txt)
if ! python scripts/check_requirements.py "${requirements[@]}" 2>/dev/null; then
  echo "setup: installing ${requirements[*]} with $CLIPSEARCH_PYTHON (the first time: several GB, see README)" >&2
  for file in "${requirements[@]}"; do
    python -m pip install --quiet -r "$file"
  done
fi

# The console scripts (clipsearch, clipsearch-index, clipsearch-web) from this checkout. A
# clipsearch installed from another checkout into a shared python is left alone: `python -m ...`
# from here still runs this checkout's code.
# After a pull that adds a top-level package, an editable install made before does not find it:
# then it is made again.
installed_from=$(cd / && python - "$root" <<'EOF'
import importlib.util, json, re, sys
from importlib import metadata
from pathlib import Path
root = Path(sys.argv[1])
try:
    url = json.loads(metadata.distribution("clipsearch").read_text("direct_url.json") or "{}").get("url", "?")
except metadata.PackageNotFoundError:
    sys.exit()
line = re.search(r"^include = \[(.*?)\]", (root / "pyproject.toml").read_text(), re.M)
names = re.findall(r'"(\w+)\*?"', line.group(1)) if line else []
ours = [n for n in names if (root / n / "__init__.py").exists()]
stale = url == root.as_uri() and any(importlib.util.find_spec(n) is None for n in ours)
print("stale" if stale else "this checkout" if url == root.as_uri() else url)
EOF
)
if [[ -z "$installed_from" || "$installed_from" == "stale" ]]; then
  isolation=()
  python -c 'import setuptools' 2>/dev/null && isolation=(--no-build-isolation)
  python -m pip install --quiet --no-deps "${isolation[@]}" -e .
elif [[ "$installed_from" != "this checkout" ]]; then
  echo "setup: note: clipsearch's console scripts run the checkout at $installed_from;" \
       "python -m clipsearch / indexer / webui from here run this one" >&2
fi

# The tests also need Debian's chromium (browser tests) and two font packages (the OCR tests
# render signs in real fonts).
if (( dev )); then
  missing=()
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  [[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
  [[ -f /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ]] || missing+=(fonts-liberation)
  if (( ${#missing[@]} )) && command -v apt-get >/dev/null 2>&1 \
      && { [[ $(id -u) -eq 0 ]] || command -v sudo >/dev/null 2>&1; }; then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    echo "setup: installing Debian's ${missing[*]} for the tests" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if [[ ! -x /usr/bin/chromium ]]; then
    echo "setup: no /usr/bin/chromium and it could not be installed (apt-get install chromium):" \
         "the browser tests will be skipped, and fail under CI" >&2
    [[ "${CI:-}" == "true" ]] && exit 1
  fi
  if [[ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]]; then
    echo "setup: no DejaVu fonts (apt-get install fonts-dejavu-core fonts-liberation): the OCR tests will fail" >&2
    [[ "${CI:-}" == "true" ]] && exit 1
  fi
fi
if [[ "$CLIPSEARCH_VENV" == "$root/.venv" && "$active_before" != "$root/.venv" ]]; then
  echo "setup: done. clipsearch is installed in .venv; to use it in your shell: . .venv/bin/activate" >&2
fi
