"""The applications service's settings, from `MPP_`-prefixed environment variables."""

from pydantic import SecretStr

from mpp_shared.settings import DEVELOPMENT_SECRET, ServiceSettings


class Settings(ServiceSettings):
    """Settings of the applications service."""

    service_name: str = "applications"
    http_port: int = 8102

    # Prefix of tracking numbers (SNJ-DUKCAPIL-20260108-000123): the regency's short code.
    regency_code: str = "SNJ"
    # The mall's local time: working days, opening hours and dates on tracking numbers.
    timezone: str = "Asia/Makassar"
    # How often the SLA and complaint clocks are checked.
    clock_check_seconds: float = 60.0
    # The command center's summary is counted at most this often, however many screens ask (each
    # count reads the year's applications); its `at` says when it was counted.
    summary_max_age_seconds: float = 2.0
    # Encrypts the sensitive answers of application forms (NIKs typed in a form): keep a copy
    # outside the cluster; without it they cannot be read. Refused as the default in production.
    pii_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    # Seals what an issued output prints (the form answers its service names) for the documents
    # service, which holds the same value. Refused as the default in production.
    output_content_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
