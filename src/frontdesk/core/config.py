"""Settings read from FRONTDESK_* environment variables."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET_KEY = "insecure-development-secret-change-me"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class InsecureConfiguration(RuntimeError):
    """The settings are not safe to run in production."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("var")
    database_url: str | None = None
    secret_key: str = DEFAULT_SECRET_KEY
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    log_format: str = "json"

    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    #: The body cap of attachment uploads; each tenant's own file size limit applies within it.
    max_upload_bytes: int = Field(default=100 * 1_048_576, ge=1024)
    session_max_age_seconds: int = Field(default=14 * 24 * 3600, ge=60)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=8)

    trusted_header_enabled: bool = False
    trusted_header_name: str = "X-User"
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    #: Where outbound mail goes: smtp://host:port, smtps://user:password@host:port,
    #: smtp://…?starttls=true. Without it, mail stays queued.
    smtp_url: str | None = None
    mail_from: str = "support@localhost"
    #: Sending attempts before an outbound mail is given up (status failed).
    mail_max_attempts: int = Field(default=8, ge=1, le=100)
    mail_retry_base_seconds: float = Field(default=30.0, ge=0)
    imap_poll_seconds: float = Field(default=60.0, ge=1)
    #: Outbound requests (webhooks) reach public addresses only, plus these networks
    #: (`10.1.0.0/16`) and endpoints (`127.0.0.1:9000`).
    outbound_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)

    embedded_worker: bool | None = None
    event_exchange: str = "frontdesk"
    event_log: Path | None = None

    @field_validator("trusted_proxies", "outbound_allow", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)
        return value

    @field_validator("outbound_allow")
    @classmethod
    def _check_outbound_allow(cls, value: list[str]) -> list[str]:
        from frontdesk.core.outbound import OutboundPolicy  # it reads Settings: no cycle at import

        OutboundPolicy.from_entries(value)
        return value

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'frontdesk.sqlite3'}"
        return self

    @property
    def db_url(self) -> str:
        assert self.database_url is not None
        return self.database_url

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def served_over_https(self) -> bool:
        return self.public_base_url.startswith("https://")

    def check_safe_to_start(self) -> None:
        """Refuse production with a default or weak secret key."""
        if not self.is_production:
            return
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
            raise InsecureConfiguration(
                "FRONTDESK_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production"
            )


@lru_cache
def get_settings() -> Settings:
    return Settings()
