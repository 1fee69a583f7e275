"""gunicorn settings for production (see `make serve`):

    gunicorn -c python:webapp.gunicorn_conf "webapp:create_app()"

Every value can be changed from the environment (gunicorn's own GUNICORN_CMD_ARGS and command-line
flags win over this file). Workers share nothing in memory: the database, the photo store, the
secret key and the rate-limit store (RATELIMIT_STORAGE_URI=redis://...) are all outside the process;
see docs/deployment.md.
"""

from __future__ import annotations

import os

from gunicorn.glogging import Logger

from webapp.log_redaction import redact_share_tokens, redacting_filter

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Photo ingest (decode, orient, colour metrics, three JPEG encodes) is CPU-bound and runs in the
# worker: one worker process per core, plus one so a core is never idle while another waits on I/O.
workers = int(os.environ.get("WEB_CONCURRENCY", str((os.cpu_count() or 1) + 1)))
# Threads let a worker overlap database, S3 and network waits. Keep them few: every thread may
# hold an uploaded photo (up to 25 MB) and its decoded pixels in memory at once.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A 25 MB HEIC takes a few seconds to ingest on a slow core; a stuck worker is replaced after this.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: image decoding fragments the heap, so RSS creeps up over days.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# The app is built in each worker after the fork, so no database connection or S3 client (with
# its connection pool) is ever shared between processes.
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


class RedactingLogger(Logger):
    """The logs without secrets: share tokens live in the path (/s/<token>), so they are masked in
    every atom of the access log (whatever access_log_format picks) and in the error log; the
    default format logs no query string or referrer either."""

    def setup(self, cfg):  # type: ignore[no-untyped-def]
        super().setup(cfg)
        self.error_log.addFilter(redacting_filter)  # once: the same filter is not added twice

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            name: redact_share_tokens(value) if isinstance(value, str) else value
            for name, value in atoms.items()
        }


logger_class = RedactingLogger
