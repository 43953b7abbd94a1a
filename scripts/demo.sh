#!/usr/bin/env bash
# The README's first command ends here: shows the freshly built berth at work.
set -euo pipefail
cd "$(dirname "$0")/.."
./build/berth version
