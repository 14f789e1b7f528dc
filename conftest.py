pytest_plugins = ["mpp_shared.testing"]
