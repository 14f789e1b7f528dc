"""`python -m notifications`: serve the notifications API and run its background work."""

from mpp_shared.web import serve
from notifications.app import create_app
from notifications.settings import Settings


def main() -> None:
    """Start the service with settings from the environment."""
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
