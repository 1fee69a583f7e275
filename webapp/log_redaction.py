"""(pure) Log lines without secrets: a share link's or a calendar feed's token is the only secret
of its URL, and servers log URLs. gunicorn_conf.py masks them in gunicorn's access and error logs;
create_app puts the same filter on the development server's request log (werkzeug's logger).

A share token is the path segment after "s", a calendar feed's the one after "calendar". The app
serves the share view for more spellings than /s/<token> ("//s/", "/s//", "%2Fs%2F", "%73"), so
text is matched percent-decoded, with any number of slashes, wherever it may carry a URL (path,
request line, query, referrer...).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

_SHARE_TOKEN = re.compile(r"(/+(?:s|calendar)/+)[^/?#\s]+", re.IGNORECASE)


def redact_share_tokens(text: str) -> str:
    """`text` as it came if it holds no share token; otherwise decoded, each token as <token>."""
    decoded = text
    for _ in range(4):  # "%252F" is "%2F" decoded once, "/" twice
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    masked = _SHARE_TOKEN.sub(r"\1<token>", decoded)
    return text if masked == decoded else masked


class RedactingFilter(logging.Filter):
    """A logger's records with their tokens masked (the message is formatted first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_share_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


# One instance, so that adding it to a logger again (another app in the process) is a no-op.
redacting_filter = RedactingFilter()
