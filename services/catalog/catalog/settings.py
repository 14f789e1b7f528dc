"""The catalog service's settings, from `MPP_`-prefixed environment variables."""

from mpp_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the catalog service."""

    service_name: str = "catalog"
    http_port: int = 8101
    # What the citizen app's home shows first while too few applications have been made to tell
    # what citizens need most (a new mall), and after those that are: the services a mall's
    # citizens ask for most everywhere, by slug (one not published is skipped).
    featured_services: list[str] = [
        "ktp-el-baru",
        "kk-baru",
        "akta-kelahiran",
        "sim-c-baru",
        "skck",
        "kia",
        "akta-kematian",
        "sim-c-perpanjangan",
    ]
    # How many days back the home counts applications.
    popular_days: int = 30
