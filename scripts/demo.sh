#!/usr/bin/env bash
# One command to try clipsearch with no network: install, render the sample photo library,
# index it with the offline demo model, and open the web app on http://127.0.0.1:7860
# Usage: bash scripts/demo.sh [FOLDER]   (default folder: ./demo-data)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-demo-data}"
bash scripts/setup.sh
python -m clipsearch.demo make-library "$data/photos" --n 300
python -m indexer "$data/photos" --index "$data/index" --model demo
exec python -m webui --index "$data/index"
