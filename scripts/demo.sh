#!/usr/bin/env bash
# One command to try clipsearch with no network: install (scripts/setup.sh), render the sample
# photo library, index it with the offline demo model, and serve the web app on
# http://127.0.0.1:7860. Everything of the demo stays in one folder: pictures, index, thumbnails.
# A re-run changes nothing that is already there and takes seconds.
#
# Usage: bash scripts/demo.sh [--no-serve] [FOLDER]   (default folder: demo-data in the checkout)
#   --no-serve   stop after indexing (print the commands to try, serve nothing)
set -euo pipefail
caller="$PWD"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
serve=1 data=demo-data
for arg in "$@"; do
  case "$arg" in
    --no-serve) serve=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "demo.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
    *) data="$arg"; [[ "$data" == /* ]] || data="$caller/$data" ;;
  esac
done
data_abs="$data"; [[ "$data" == /* ]] || data_abs="$root/$data"

active_before="${VIRTUAL_ENV:-}"
bash scripts/setup.sh
# shellcheck source=scripts/python-env.sh
. scripts/python-env.sh
use_project_python "$root"        # the environment setup.sh installed into; `python` runs it
export CLIPSEARCH_CACHE="$data_abs/cache"   # the demo's thumbnails stay in the demo's folder
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1

python -m clipsearch.demo make-library "$data/photos" --n 300 --clips 3
python -m indexer "$data/photos" --index "$data/index" --model demo --videos

activate=""
if [[ -n "$CLIPSEARCH_VENV" && "$CLIPSEARCH_VENV" != "$active_before" ]]; then
  activate=". ${CLIPSEARCH_VENV#"$root/"}/bin/activate"
fi
index=$(printf '%q' "$data/index")
cat <<EOF

The demo's index is $data/index (300 pictures, and 3 short videos whose moments a search shows
after the photos). To try the terminal commands, in another terminal, in $root:
${activate:+  $activate
}  python -m clipsearch search "a red circle" -k 5 --index $index
  python -m clipsearch search "a circle - red" --since 2020-01-01 --index $index
  python -m clipsearch info --index $index
  python -m clipsearch topics --index $index
or set the index once and use README's commands as written:
  export CLIPSEARCH_INDEX="$data_abs/index" CLIPSEARCH_CACHE="$data_abs/cache"

EOF
if (( serve )); then
  echo "Starting the web app on the demo's index (the model loads first)..."
  exec python -m webui --index "$data/index"
fi
