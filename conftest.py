"""The repository's root conftest: what applies to every test path."""

pytest_plugins = ["support.timeouts"]
