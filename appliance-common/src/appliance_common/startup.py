"""How a service starts: its log lines' format, and what a start-up error looks like.

A bad setting is one line per variable on stderr, `service: NAME='raw' is not
valid: expected …`, and exit status 2. A port that cannot be listened on is one
line and status 1.
"""

import errno
import logging
import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CANNOT_LISTEN = (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)
BAD_SETTING, CANNOT_SERVE = 2, 1


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT)


def bad_settings(service: str, error: Exception) -> int:
    """Write the error, one line per bad variable; the exit status to end with."""
    for line in str(error).splitlines():
        sys.stderr.write(f"{service}: {line}\n")
    return BAD_SETTING


def cannot_listen(service: str, port: int, error: OSError) -> int:
    """Write why the port is not ours (re-raise any other OSError); the exit status."""
    if error.errno not in CANNOT_LISTEN:
        raise error
    sys.stderr.write(f"{service}: cannot listen on PORT={port}: {error}\n")
    return CANNOT_SERVE
