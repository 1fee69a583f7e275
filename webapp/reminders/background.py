"""The sender inside the web process, for `make run` (the embedded default): one machine reminds
without cron. A daemon thread runs `send_due` every minute in an app context.

Started by create_app when REMINDERS_IN_PROCESS is set, at most once per process. It is as safe
as cron: several processes with a thread each (gunicorn workers, or cron as well) still send each
reminder once, because the sender claims every patient in the database (see sender.py).
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from .sender import send_due

INTERVAL_SECONDS = 60.0

log = logging.getLogger(__name__)


class BackgroundSender:
    """The running thread; `stop()` ends it after its current run (tests, shutdown)."""

    def __init__(self, app: Flask, interval: float) -> None:
        self.app = app
        self.interval = interval
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="reminders-sender", daemon=True)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                with self.app.app_context():
                    report = send_due()
                if report.sent or report.errors:
                    log.info(
                        "Reminders: %d sent, %d push error(s)", len(report.sent), len(report.errors)
                    )
            except Exception:
                # The database or the network may be down for a while: try again next minute.
                log.exception("Sending reminders failed")
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        global _running
        self.stopping.set()
        self.thread.join()
        with _lock:
            if _running is self:
                _running = None


_lock = threading.Lock()
_running: BackgroundSender | None = None


def start(app: Flask, interval: float = INTERVAL_SECONDS) -> BackgroundSender | None:
    """Start the process's sender thread for `app`; None if this process runs one already."""
    global _running
    with _lock:
        if _running is not None:
            return None
        _running = BackgroundSender(app, interval)
        _running.thread.start()
        return _running
