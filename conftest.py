"""Root pytest configuration: the shared fixtures, and markers from each test's folder."""

from pathlib import Path

import pytest

pytest_plugins = ["mpp_shared.testing"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # End-to-end tests last: the browser tests keep Playwright's event loop running in this
    # thread until the session ends, and no async fixture can be set up or torn down after them.
    items.sort(key=lambda item: "e2e" in Path(str(item.path)).parts)
    for item in items:
        parts = Path(str(item.path)).parts
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)
            # The first test also waits for the platform: the catalog seeded, five processes up.
            # A module that knows it runs longer (the fault suite, the soak) says so itself.
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(360))
        elif "integration" in parts:
            item.add_marker(pytest.mark.integration)
