"""Cold start of `agentdesk --demo --smoke` beside a bare PySide6 window, in one run.

    python benchmarks/startup.py [--runs 9] [--frozen dist/AgentDesk]

With --frozen, the frozen app (installer/build.py) is measured too, in the same alternation.

Both programs are started as fresh processes, alternately, and write the wall-clock time at which their main
window was shown and the event loop idle (AGENTDESK_STARTUP_MARKER). Reported: medians of time-to-shown-window
and of the whole process (AgentDesk's includes the background startup, store migration and clean shutdown),
and peak RSS, each with the AgentDesk / bare ratio. Target: shown-window ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(ms to shown window, ms to exit, peak RSS in MB) of one fresh process."""
    with tempfile.TemporaryDirectory() as folder:
        marker = Path(folder) / "shown"
        started = time.time()
        process = subprocess.Popen(
            command,
            env={**env, "AGENTDESK_STARTUP_MARKER": str(marker)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        ended = time.time()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0 or not marker.exists():
            raise SystemExit(f"{command} failed with exit code {process.returncode}")
        shown = float(marker.read_text(encoding="utf-8"))
    return (shown - started) * 1000, (ended - started) * 1000, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--frozen", type=Path, help="a frozen AgentDesk folder (installer/build.py) to measure too")
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    # Compiled modules, as on a workstation (pip and the frozen build ship them): with PYTHONDONTWRITEBYTECODE set
    # (some CI and sandbox shells set it) every start would compile AgentDesk's sources again and the bare window,
    # all in site-packages, would not.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    basedir = Path(tempfile.mkdtemp(prefix="agentdesk-bench-"))
    agentdesk = [sys.executable, "-m", "agentdesk", "--demo", "--smoke", "--basedir", str(basedir)]
    bare = [sys.executable, str(HERE / "bare_window.py")]

    commands = {"bare": bare, "agentdesk": agentdesk}
    if args.frozen:
        frozen_base = Path(tempfile.mkdtemp(prefix="agentdesk-bench-frozen-"))
        commands["frozen"] = [str(args.frozen / "AgentDesk"), "--demo", "--smoke", "--basedir", str(frozen_base)]
    first = measure(agentdesk, env)  # the very first start also generates the synthetic population
    for name, command in commands.items():
        if name != "agentdesk":
            measure(command, env)  # warm the OS file cache for each, as a workstation after login would be
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            results[name].append(measure(command, env))

    def median(name: str, index: int) -> float:
        return statistics.median(r[index] for r in results[name])

    print(f"startup benchmark: {args.runs} runs each, alternating, QT_QPA_PLATFORM={env['QT_QPA_PLATFORM']}")
    frozen = "frozen" in results
    header = f"{'metric':34} {'bare PySide6':>13} {'AgentDesk':>11} {'ratio':>7}"
    print(header + (f" {'frozen':>9} {'ratio':>7}" if frozen else ""))
    for label, index, unit in (
        ("shown, idle main window", 0, "ms"),
        ("whole process (start..exit)", 1, "ms"),
        ("peak RSS", 2, "MB"),
    ):
        b, a = median("bare", index), median("agentdesk", index)
        line = f"{label + ' (median, ' + unit + ')':34} {b:13.0f} {a:11.0f} {a / b:7.2f}"
        if frozen:
            f = median("frozen", index)
            line += f" {f:9.0f} {f / b:7.2f}"
        print(line)
    print(f"first demo start (generates the population): shown {first[0]:.0f} ms, process {first[1]:.0f} ms")
    for name in results:
        if name == "bare":
            continue
        ratio = median(name, 0) / median("bare", 0)
        print(f"target shown-window ratio <= 1.5 ({name}): {'met' if ratio <= 1.5 else 'NOT met'} ({ratio:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
