#!/usr/bin/env bash
# Run a GUI command on a private Xvfb display and take a screenshot of the whole screen.
#
# Usage: scripts/xvfb-run-screenshot.sh OUT.png -- COMMAND [ARGS...]
#
# Starts `Xvfb :N -screen 0 1600x1000x24` on a free display (Xvfb picks N itself via -displayfd) with a fresh
# MIT-MAGIC-COOKIE, sets DISPLAY/XAUTHORITY, unsets QT_QPA_PLATFORM (so Qt uses xcb, not offscreen), runs COMMAND
# in the background, waits, then runs `/usr/bin/import -window root OUT.png`. COMMAND and Xvfb are stopped on exit.
#
# Waiting:
#   AGENTDESK_READY_FILE     if set, wait until COMMAND creates this file (polled every 0.1 s, removed beforehand),
#                            then wait AGENTDESK_SHOT_SETTLE seconds (default 0.5) for the last paint to land.
#   AGENTDESK_READY_TIMEOUT  seconds to wait for the ready file (default 60); on timeout exit 124, no screenshot.
#   AGENTDESK_SHOT_DELAY     without a ready file: seconds to wait before the screenshot (default 3).
#   AGENTDESK_SCREEN         Xvfb screen geometry (default 1600x1000x24).
#
# Exit status: 0 when OUT.png was written; 124 ready-file timeout; 1 other errors (Xvfb did not start, COMMAND
# exited before the screenshot, import failed). Needs Debian packages: xvfb xauth imagemagick, plus Qt's xcb
# libraries and a font (see .ci/run / docs in /work/shared/ENVIRONMENT.md).
set -euo pipefail

usage() {
    echo "usage: $0 OUT.png -- COMMAND [ARGS...]" >&2
    exit 2
}
die() {
    echo "xvfb-run-screenshot: $*" >&2
    exit 1
}

(($# >= 3)) || usage
OUT="$1"
[[ "$2" == "--" ]] || usage
shift 2

SCREEN="${AGENTDESK_SCREEN:-1600x1000x24}"
DELAY="${AGENTDESK_SHOT_DELAY:-3}"
SETTLE="${AGENTDESK_SHOT_SETTLE:-0.5}"
READY_FILE="${AGENTDESK_READY_FILE:-}"
READY_TIMEOUT="${AGENTDESK_READY_TIMEOUT:-60}"
IMPORT=/usr/bin/import   # not a random `import` earlier on PATH

command -v Xvfb >/dev/null 2>&1 || die "Xvfb not found (Debian package: xvfb)"
command -v xauth >/dev/null 2>&1 || die "xauth not found (Debian package: xauth)"
[[ -x "$IMPORT" ]] || die "$IMPORT not found (Debian package: imagemagick)"

# Make OUT absolute: the command may chdir, and we want a clear message.
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
mkdir -p "$(dirname "$OUT")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/xvfb-shot.XXXXXX")"
XVFB_PID=""
CMD_PID=""

cleanup() {
    local rc=$?
    set +e
    if [[ -n "$CMD_PID" ]] && kill -0 "$CMD_PID" 2>/dev/null; then
        # COMMAND runs in its own process group (setsid): stop it and anything it spawned.
        kill -TERM -- "-$CMD_PID" 2>/dev/null || kill -TERM "$CMD_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$CMD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$CMD_PID" 2>/dev/null
    fi
    [[ -n "$CMD_PID" ]] && wait "$CMD_PID" 2>/dev/null
    if [[ -n "$XVFB_PID" ]] && kill -0 "$XVFB_PID" 2>/dev/null; then
        kill -TERM "$XVFB_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$XVFB_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$XVFB_PID" 2>/dev/null
    fi
    [[ -n "$XVFB_PID" ]] && wait "$XVFB_PID" 2>/dev/null
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- authorization cookie -----------------------------------------------------------------------------------------
# The server loads every cookie in its -auth file regardless of the display number, so the cookie can be created
# before we know N; the client's XAUTHORITY gets the :N entry once Xvfb has picked its display.
COOKIE="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
SERVER_AUTH="$WORK/server.xauth"
CLIENT_AUTH="$WORK/client.xauth"
: >"$SERVER_AUTH"
: >"$CLIENT_AUTH"
xauth -q -f "$SERVER_AUTH" add :0 MIT-MAGIC-COOKIE-1 "$COOKIE"

# --- Xvfb on a free display -----------------------------------------------------------------------------------------
DISPLAY_FILE="$WORK/display"
: >"$DISPLAY_FILE"
Xvfb -displayfd 3 -screen 0 "$SCREEN" -nolisten tcp -auth "$SERVER_AUTH" \
    3>"$DISPLAY_FILE" </dev/null >"$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!

# Xvfb writes "N\n" to the fd once it accepts connections.
for _ in $(seq 100); do
    [[ "$(wc -l <"$DISPLAY_FILE")" -ge 1 ]] && break   # a complete line has arrived
    kill -0 "$XVFB_PID" 2>/dev/null || { cat "$WORK/xvfb.log" >&2; die "Xvfb exited during startup"; }
    sleep 0.1
done
DISPLAY_NUM="$(tr -dc '0-9' <"$DISPLAY_FILE")"
[[ -n "$DISPLAY_NUM" ]] || { cat "$WORK/xvfb.log" >&2; die "Xvfb did not report a display within 10 s"; }

xauth -q -f "$CLIENT_AUTH" add ":$DISPLAY_NUM" MIT-MAGIC-COOKIE-1 "$COOKIE"
export DISPLAY=":$DISPLAY_NUM"
export XAUTHORITY="$CLIENT_AUTH"
unset QT_QPA_PLATFORM
echo "xvfb-run-screenshot: Xvfb pid $XVFB_PID on DISPLAY=$DISPLAY ($SCREEN)" >&2

# --- the command ----------------------------------------------------------------------------------------------------
if [[ -n "$READY_FILE" ]]; then
    rm -f "$READY_FILE"   # a stale file from an earlier run must not count
fi
# setsid (no fork: a background job is not a group leader) puts COMMAND in its own process group, so cleanup can
# stop helper processes too. stdin is /dev/null so a GUI never blocks on a terminal.
setsid "$@" </dev/null &
CMD_PID=$!

cmd_alive() { kill -0 "$CMD_PID" 2>/dev/null; }
cmd_died() {
    local rc=0
    wait "$CMD_PID" || rc=$?
    CMD_PID=""
    die "command exited (status $rc) before the screenshot was taken"
}

# Poll every 0.1 s so an early crash of COMMAND is reported at once, not after the whole delay.
now_ms() { local t="${EPOCHREALTIME/[.,]/}"; echo $((t / 1000)); }
to_ms() { awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }'; }
start_ms="$(now_ms)"
if [[ -n "$READY_FILE" ]]; then
    limit_ms="$(to_ms "$READY_TIMEOUT")"
    until [[ -e "$READY_FILE" ]]; do
        cmd_alive || cmd_died
        if (($(now_ms) - start_ms >= limit_ms)); then
            echo "xvfb-run-screenshot: $READY_FILE did not appear within ${READY_TIMEOUT}s; no screenshot" >&2
            exit 124
        fi
        sleep 0.1
    done
    echo "xvfb-run-screenshot: ready file appeared after $(($(now_ms) - start_ms)) ms" >&2
    sleep "$SETTLE"
else
    limit_ms="$(to_ms "$DELAY")"
    while (($(now_ms) - start_ms < limit_ms)); do
        cmd_alive || cmd_died
        sleep 0.1
    done
fi
cmd_alive || cmd_died

# --- screenshot -----------------------------------------------------------------------------------------------------
"$IMPORT" -display "$DISPLAY" -window root "$OUT" || die "$IMPORT failed"
[[ -s "$OUT" ]] || die "$IMPORT wrote no data to $OUT"
echo "xvfb-run-screenshot: wrote $OUT" >&2
