"""Every test has a time limit: pytest-timeout's, scaled by TEST_TIMEOUT_FACTOR.

The limit is `timeout` of the pytest config (or a test's own
`@pytest.mark.timeout(seconds)`), times the factor. On expiry the `thread`
method prints every thread's stack and ends the run, so a hang fails in
minutes instead of eating CI's time, whatever the event loop is doing.
Loaded for every test path by the conftest at the repository's root.
"""

import pytest

from support.timing import FACTOR


def pytest_report_header(config: pytest.Config) -> str:
    base = float(config.getini("timeout") or 0)
    return f"time limit per test: {base * FACTOR:g} s ({base:g} s × TEST_TIMEOUT_FACTOR {FACTOR:g})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    base = float(config.getini("timeout") or 0)
    for item in items:
        own = item.get_closest_marker("timeout")
        kwargs = dict(own.kwargs) if own else {}
        seconds = own.args[0] if own and own.args else kwargs.pop("timeout", base)
        if seconds:  # the closest marker wins: the scaled one goes first
            item.add_marker(pytest.mark.timeout(float(seconds) * FACTOR, **kwargs), append=False)
