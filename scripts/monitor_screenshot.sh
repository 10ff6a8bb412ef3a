#!/bin/sh
# Re-render docs/screenshot-monitor.png: the demo team monitor (a simulated team's day so far), offscreen.
set -e
cd "$(dirname "$0")/.."
base=$(mktemp -d)
trap 'rm -rf "$base"' EXIT
QT_QPA_PLATFORM=offscreen AGENTDESK_MONITOR_SCREENSHOT="$PWD/docs/screenshot-monitor.png" \
    python -m agentdesk --demo --monitor --smoke --basedir "$base"
echo "wrote docs/screenshot-monitor.png"
