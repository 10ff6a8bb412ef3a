#!/usr/bin/env bash
# Renders docs/screenshot.png: the demo after a simulated call, in a real X window under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
export AGENTDESK_READY_FILE="${TMPDIR:-/tmp}/agentdesk-shot-ready.$$"
exec bash scripts/xvfb-run-screenshot.sh docs/screenshot.png -- python scripts/demo_screenshot.py --hold
