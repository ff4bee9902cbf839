"""Settings: a YAML file plus ``INFERWATCH_*`` environment variables, validated at start.

Precedence, highest first: explicit overrides, environment variables (nested with
``__``, e.g. ``INFERWATCH_SERVER__PORT=9000``), the YAML file (``--config`` or
``INFERWATCH_CONFIG``), then the defaults below. Unsafe combinations are refused
here, before anything listens on a socket.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from inferwatch.alerts.settings import AlertsSettings
from inferwatch.collector.settings import CollectorSettings
from inferwatch.dashboards.settings import DashboardSettings
from inferwatch.drift.settings import DriftSettings
from inferwatch.errors import ConfigError
from inferwatch.exporters.settings import ExporterSettings

CONFIG_ENV = "INFERWATCH_CONFIG"
_config_file: ContextVar[Path | None] = ContextVar("inferwatch_config_file", default=None)


def default_data_dir() -> Path:
    """Where embedded state lives unless told otherwise (XDG data home)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "inferwatch"


class ServerSettings(BaseModel):
    """The HTTP listener every service shares."""

    host: str = Field(default="127.0.0.1", description="Address to bind; loopback by default.")
    port: int = Field(default=8686, ge=0, le=65535, description="TCP port (0 picks a free one).")
    api_token: SecretStr | None = Field(
        default=None,
        description="Bearer token required on write endpoints when set; it may also read. "
        "When set, every route outside open_paths needs a token.",
    )
    read_token: SecretStr | None = Field(
        default=None,
        description="Bearer token that may read (records, reports, baselines, audit) but not "
        "write; needs api_token.",
    )
    open_paths: list[str] = Field(
        default_factory=lambda: ["/metrics", "/healthz", "/readyz"],
        description="Paths answered without a token even when one is set (exact, or a "
        "glob such as /drift/models/*/report).",
    )
    allow_public_without_token: bool = Field(
        default=False,
        description="Accept a public bind with no token (only behind an authenticating proxy).",
    )
    public_url: str | None = Field(
        default=None, description="URL others reach this service at (links in alerts and reports)."
    )

    @property
    def is_loopback(self) -> bool:
        """True when the bind address only accepts local connections."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @model_validator(mode="after")
    def _refuse_open_writes(self) -> ServerSettings:
        token = self.api_token.get_secret_value() if self.api_token else ""
        if self.api_token is not None and not token.strip():
            raise ValueError("api_token is set but empty; remove it or give it a value")
        if self.read_token is not None:
            if not self.read_token.get_secret_value().strip():
                raise ValueError("read_token is set but empty; remove it or give it a value")
            if not token:
                raise ValueError(
                    "read_token needs api_token: with reads closed, writes must not stay open; "
                    "set server.api_token (INFERWATCH_SERVER__API_TOKEN) too"
                )
        for path in self.open_paths:
            if not path.startswith("/"):
                raise ValueError(f"open_paths entry {path!r} must start with /")
        if not self.is_loopback and not token and not self.allow_public_without_token:
            raise ValueError(
                f"binding {self.host} without an api_token would let anyone write; set "
                "server.api_token (INFERWATCH_SERVER__API_TOKEN) or, behind an authenticating "
                "proxy, server.allow_public_without_token=true"
            )
        return self

    def base_url(self) -> str:
        """The URL links should use: ``public_url`` or the bind address."""
        return self.public_url or f"http://{self.host}:{self.port}"


class Settings(BaseSettings):
    """Everything inferwatch can be told, with the defaults it runs on when told nothing."""

    model_config = SettingsConfigDict(
        env_prefix="INFERWATCH_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Field(default_factory=default_data_dir, description="Embedded state (SQLite).")
    database_url: str | None = Field(
        default=None,
        description="State store URL: sqlite:///PATH (embedded, one process) or "
        "postgresql+psycopg://USER:PASSWORD@HOST/DB (any number of replicas). "
        "Defaults to DATA_DIR/inferwatch.db.",
    )
    database_busy_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="How long a statement waits for a locked state store before the request "
        "is answered 503 with Retry-After.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe log level written."
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one object a line (for log shippers); text: for people."
    )
    server: ServerSettings = Field(default_factory=ServerSettings)
    collector: CollectorSettings = Field(default_factory=CollectorSettings)
    exporters: ExporterSettings = Field(default_factory=ExporterSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    dashboards: DashboardSettings = Field(default_factory=DashboardSettings)

    @model_validator(mode="after")
    def _check_database_url(self) -> Settings:
        url = self.database_url
        if url and not url.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ValueError(
                f"database_url {url.split('://')[0]}:// is not supported; use sqlite:///PATH "
                "or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        return self

    def storage_url(self) -> str:
        """The state store's URL: ``database_url``, else SQLite under ``data_dir``."""
        return self.database_url or f"sqlite:///{self.data_dir / 'inferwatch.db'}"

    def sqlite_path(self) -> Path:
        """The SQLite file the state store opens (meaningless for PostgreSQL URLs)."""
        if self.database_url:
            return Path(self.database_url.removeprefix("sqlite:///"))
        return self.data_dir / "inferwatch.db"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file.get()
        if config_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)


@contextmanager
def _reading(config_file: Path | None) -> Iterator[None]:
    token = _config_file.set(config_file)
    try:
        yield
    finally:
        _config_file.reset(token)


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Load and validate settings, turning every problem into one readable ``ConfigError``.

    Example:
        >>> load_settings(server={"port": 9000}).server.port
        9000
    """
    path_text = config_file if config_file is not None else os.environ.get(CONFIG_ENV)
    path = Path(path_text) if path_text else None
    if path is not None and not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        with _reading(path):
            return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source=path)) from exc
    except (OSError, ValueError, yaml.YAMLError) as exc:  # unreadable or malformed YAML
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc


def describe_validation_error(exc: ValidationError, source: Path | None = None) -> str:
    """One line per problem, named by its dotted setting path and its env variable."""
    where = f" (from {source} and the environment)" if source else ""
    lines = [f"invalid settings{where}:"]
    for error in exc.errors():
        dotted = ".".join(str(part) for part in error["loc"]) or "settings"
        env = (
            "INFERWATCH_" + "__".join(str(p).upper() for p in error["loc"]) if error["loc"] else ""
        )
        hint = f" [{env}]" if env else ""
        lines.append(f"  {dotted}{hint}: {error['msg']}")
    return "\n".join(lines)
