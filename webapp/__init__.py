"""Skinlog: the application factory.

`create_app()` reads settings from the environment (config.py), binds the extensions, registers the
blueprints and the security headers. Tests pass `config=` to override any setting.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask

from . import cli, compression, errors, security, templating
from .config import settings_from_environment
from .extensions import csrf, db, limiter, login_manager, migrate
from .log_redaction import redacting_filter
from .passwords import Passwords
from .storage import store_from_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get(
        "SKINLOG_INSTANCE_PATH", str(PROJECT_ROOT / "instance")
    )
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()),
        static_folder=str(PROJECT_ROOT / "static"),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    app.config.from_mapping(settings_from_environment(app.instance_path))
    if config:
        app.config.from_mapping(config)

    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    compression.init_app(app)
    app.extensions["passwords"] = Passwords(
        time_cost=app.config["ARGON2_TIME_COST"], memory_kib=app.config["ARGON2_MEMORY_KIB"]
    )
    app.extensions["photo_store"] = store_from_url(
        app.config["PHOTO_STORAGE"],
        default_root=os.path.join(app.instance_path, "photos"),
        endpoint_url=app.config["S3_ENDPOINT_URL"],
    )

    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .diary import bp as diary_bp
    from .portability import bp as portability_bp
    from .pwa import bp as pwa_bp
    from .reminders import bp as reminders_bp
    from .sharing import bp as share_bp
    from .timeline import bp as timeline_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(diary_bp)
    app.register_blueprint(timeline_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(share_bp)
    app.register_blueprint(pwa_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(portability_bp)

    security.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    cli.init_app(app)
    # The development server (`make run`) logs each request line through werkzeug's logger.
    logging.getLogger("werkzeug").addFilter(redacting_filter)
    if app.config["REMINDERS_IN_PROCESS"]:
        from .reminders import background

        background.start(app)
    return app
