"""`python -m gateway`: serve the single entry point of the mall."""

from gateway.app import create_app
from gateway.settings import Settings
from mpp_shared.web import serve


def main() -> None:
    """Start the gateway with settings from the environment."""
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
