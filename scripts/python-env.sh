# Sourced by scripts/setup.sh, scripts/demo.sh and .ci/run (not run on its own): choose the Python
# that clipsearch runs in, then make `python` mean it for the rest of the calling script.
#
#   1. an active virtual environment ($VIRTUAL_ENV) is used as it is;
#   2. else the project's own .venv, when there is one;
#   3. else python3 (or python) when it may install packages: a pyenv, conda or container Python;
#   4. else (Debian's and Ubuntu's python3 refuse to, PEP 668; or it has no pip) a new .venv is
#      made with `python3 -m venv`.
#
# After `use_project_python ROOT`: $CLIPSEARCH_PYTHON is the interpreter, $CLIPSEARCH_VENV the
# virtual environment in use ("" for none), a venv's bin/ leads $PATH, and `python` runs it.

_clipsearch_venv_ok() {  # a venv whose python starts and has pip
  [[ -x "$1/bin/python" ]] && "$1/bin/python" -m pip --version >/dev/null 2>&1
}

_clipsearch_base_python() {  # the python3 on PATH, checked: prints its path
  local base
  base=$(command -v python3 || command -v python || true)
  if [[ -z "$base" ]]; then
    echo "error: no python3 on PATH. Install Python 3.10 or newer (Debian/Ubuntu: apt install python3 python3-venv)" >&2
    return 1
  fi
  if ! "$base" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "error: $base is Python $("$base" -c 'import platform; print(platform.python_version())'); clipsearch needs 3.10 or newer" >&2
    return 1
  fi
  echo "$base"
}

_clipsearch_may_install() {  # 0 when pip may install into this python (not PEP 668-managed, has pip)
  "$1" - <<'EOF' >/dev/null 2>&1
import os, sys, sysconfig
in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
if managed and not in_venv:
    sys.exit(1)
import pip  # noqa: F401  (a python without pip cannot install either)
EOF
}

_clipsearch_make_venv() {  # ROOT BASE: create ROOT/.venv with BASE, or say what is missing
  local root="$1" base="$2"
  if ! "$base" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "error: $base cannot create a virtual environment (its venv/ensurepip module is missing)." >&2
    echo "       Debian/Ubuntu: sudo apt install python3-venv   then run this again." >&2
    return 1
  fi
  echo "setup: $base may not install packages (PEP 668); creating a virtual environment in $root/.venv" >&2
  if ! "$base" -m venv --clear "$root/.venv" >&2 || ! _clipsearch_venv_ok "$root/.venv"; then
    rm -rf "$root/.venv"
    echo "error: '$base -m venv $root/.venv' failed (Debian/Ubuntu: sudo apt install python3-venv)" >&2
    return 1
  fi
}

use_project_python() {  # ROOT
  local root="$1" base
  CLIPSEARCH_VENV=""
  if [[ -n "${VIRTUAL_ENV:-}" && -x "${VIRTUAL_ENV}/bin/python" ]]; then
    CLIPSEARCH_VENV="$VIRTUAL_ENV"
  elif "$root/.venv/bin/python" -c '' >/dev/null 2>&1; then
    CLIPSEARCH_VENV="$root/.venv"
    if ! _clipsearch_venv_ok "$root/.venv"; then  # made without pip (uv venv, venv --without-pip)
      "$root/.venv/bin/python" -m ensurepip >&2 || {
        echo "error: $root/.venv has no pip and ensurepip failed: install pip in it, or remove it" >&2
        return 1
      }
    fi
  else
    base=$(_clipsearch_base_python) || return 1
    if _clipsearch_may_install "$base"; then
      CLIPSEARCH_PYTHON=$("$base" -c 'import sys; print(sys.executable)')  # past pyenv's shims
    else
      _clipsearch_make_venv "$root" "$base" || return 1
      CLIPSEARCH_VENV="$root/.venv"
    fi
  fi
  if [[ -n "$CLIPSEARCH_VENV" ]]; then
    CLIPSEARCH_PYTHON="$CLIPSEARCH_VENV/bin/python"
    export VIRTUAL_ENV="$CLIPSEARCH_VENV"
    export PATH="$CLIPSEARCH_VENV/bin:$PATH"
  fi
  export CLIPSEARCH_PYTHON CLIPSEARCH_VENV
  python() { "$CLIPSEARCH_PYTHON" "$@"; }
}
