"""Root pytest configuration: the shared fixtures, and markers from each test's folder."""

from pathlib import Path

import pytest

pytest_plugins = ["mpp_shared.testing"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.path)).parts
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)
            # The first test also waits for the platform: the catalog seeded, five processes up.
            item.add_marker(pytest.mark.timeout(360))
        elif "integration" in parts:
            item.add_marker(pytest.mark.integration)
