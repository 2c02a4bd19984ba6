"""One factor scales every wait in the tests, so a slow machine gets more time."""

import os

FACTOR = float(os.environ.get("TEST_TIMEOUT_FACTOR", "1"))


def scaled(seconds: float) -> float:
    """Return `seconds` scaled by TEST_TIMEOUT_FACTOR."""
    return seconds * FACTOR
