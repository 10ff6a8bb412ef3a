"""Re-render the README's team monitor pictures offscreen: the demo team's day so far (`agentdesk --demo
--monitor` plays it through real desks with `agentdesk simulate`), the Operations tab and the Growth tab.

    QT_QPA_PLATFORM=offscreen python scripts/monitor_screenshot.py [--out docs]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> None:
    from PySide6.QtWidgets import QApplication, QSplitter

    from agentdesk import services
    from agentdesk.base.time import utc_now
    from agentdesk.commands.simulate import demo_monitor_settings
    from agentdesk.metrics.definitions import MetricOptions
    from agentdesk.metrics.live import FeedHealth
    from agentdesk.metrics.snapshot import Period, read_snapshot
    from agentdesk.paths import AppPaths
    from agentdesk.ui.monitor_window import MonitorWindow

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as base:
        paths = AppPaths.for_basedir(Path(base))
        paths.create()
        settings = demo_monitor_settings(services.read_settings(paths, None, demo=True), paths)
        engine, where = services.metrics_engine(settings, paths)
        monitor = settings.monitor
        options = MetricOptions(monitor.short_abandon_seconds, monitor.service_level_seconds)
        with engine.begin() as connection:
            snapshot = read_snapshot(
                connection, utc_now(), options, Period.TODAY, None, services.campaign_service_lines(settings)
            )
        engine.dispose()
        window = MonitorWindow(monitor)
        window.setWindowTitle(f"AgentDesk — Team monitor ({where}, demo)")
        window.show()
        window.show_snapshot(snapshot)
        window.show_health(FeedHealth(True, False, None, "polling every 5 s"))
        app.processEvents()
        split = window.sections.parentWidget()
        assert isinstance(split, QSplitter)
        for index, name, sizes in (
            (0, "screenshot-monitor.png", [330, 200, 260]),
            (1, "screenshot-monitor-growth.png", [150, 420, 220]),  # room for service lines and script versions
        ):
            window.sections.setCurrentIndex(index)
            split.setSizes(sizes)
            app.processEvents()
            window.grab().save(str(args.out / name))
            print(f"wrote {args.out / name}")
        window.close()


if __name__ == "__main__":
    main()
