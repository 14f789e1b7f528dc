"""`python -m catalog`: serve the catalog API and run its background work."""

from catalog.app import create_app
from catalog.settings import Settings
from mpp_shared.web import serve


def main() -> None:
    """Start the service with settings from the environment."""
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
