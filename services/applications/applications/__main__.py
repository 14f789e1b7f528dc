"""`python -m applications`: serve the applications API and run its background work."""

from applications.app import create_app
from applications.settings import Settings
from mpp_shared.web import serve


def main() -> None:
    """Start the service with settings from the environment."""
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
