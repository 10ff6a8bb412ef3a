#!/bin/sh
# Re-render docs/screenshot-monitor.png and docs/screenshot-monitor-growth.png: the demo team monitor (a simulated
# team's day so far), offscreen. The same picture as `agentdesk --demo --monitor`.
set -e
cd "$(dirname "$0")/.."
QT_QPA_PLATFORM=offscreen python scripts/monitor_screenshot.py --out docs
