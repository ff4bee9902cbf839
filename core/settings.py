"""Settings: a YAML file plus ``INFERWATCH_*`` environment variables, validated at start.

Precedence, highest first: explicit overrides, environment variables (nested with
``__``, e.g. ``INFERWATCH_SERVER__PORT=9000``), the YAML file (``--config`` or
``INFERWATCH_CONFIG``), then the defaults below. Unsafe combinations are refused
here, before anything listens on a socket.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from inferwatch.errors import ConfigError
from inferwatch.limits import LimitSettings
from inferwatch.registry import SETTINGS_SECTIONS, import_target

if TYPE_CHECKING:  # the parts' section models, for type checkers only (see registry.py)
    from inferwatch.alerts.settings import AlertsSettings
    from inferwatch.collector.settings import CollectorSettings
    from inferwatch.dashboards.settings import DashboardSettings
    from inferwatch.drift.settings import DriftSettings
    from inferwatch.exporters.settings import ExporterSettings

CONFIG_ENV = "INFERWATCH_CONFIG"
ENV_PREFIX = "INFERWATCH_"
_config_file: ContextVar[Path | None] = ContextVar("inferwatch_config_file", default=None)


def default_data_dir() -> Path:
    """Where embedded state lives unless told otherwise (XDG data home)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "inferwatch"


class ServerSettings(BaseModel):
    """The HTTP listener every service shares."""

    model_config = ConfigDict(extra="forbid")

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
    limits: LimitSettings = Field(default_factory=LimitSettings)

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


def _empty_section() -> Any:
    return {}


class Settings(BaseSettings):
    """Everything inferwatch can be told, with the defaults it runs on when told nothing."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
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
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="json: one object a line (for log shippers); text: for people; auto: text "
        "at a terminal, else json.",
    )
    server: ServerSettings = Field(default_factory=ServerSettings)
    # The parts' sections, resolved from registry.SETTINGS_SECTIONS by settings_model();
    # an empty mapping validates to the section's defaults (validate_default).
    collector: CollectorSettings = Field(default_factory=_empty_section)
    exporters: ExporterSettings = Field(default_factory=_empty_section)
    drift: DriftSettings = Field(default_factory=_empty_section)
    alerts: AlertsSettings = Field(default_factory=_empty_section)
    dashboards: DashboardSettings = Field(default_factory=_empty_section)

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


def settings_model() -> type[Settings]:
    """``Settings`` with every registered part's section imported and resolved.

    Done on first use rather than at import, so that importing this module (as every
    CLI verb does) costs no part's imports.
    """
    if not Settings.__pydantic_complete__:
        sections = {name: import_target(target) for name, target in SETTINGS_SECTIONS.items()}
        namespace = {cls.__name__: cls for cls in sections.values()}
        Settings.model_rebuild(_types_namespace=namespace)
    return Settings


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
    model = settings_model()
    _refuse_unknown_env_sections(model)
    try:
        with _reading(path):
            return model(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source=path)) from exc
    except (OSError, ValueError, yaml.YAMLError) as exc:  # unreadable or malformed YAML
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc


def describe_validation_error(exc: ValidationError, source: Path | None = None) -> str:
    """One line per problem, named by its dotted setting path and its env variable."""
    where = f" (from {source} and the environment)" if source else ""
    lines = [f"invalid settings{where}:"]
    for error in exc.errors():
        loc = error["loc"]
        dotted = ".".join(str(part) for part in loc) or "settings"
        env = ENV_PREFIX + "__".join(str(p).upper() for p in loc) if loc else ""
        hint = f" [{env}]" if env else ""
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting" + _did_you_mean(str(loc[-1]), _names_at(loc[:-1]))
        lines.append(f"  {dotted}{hint}: {message}")
    return "\n".join(lines)


def _names_at(loc: Sequence[int | str]) -> list[str]:
    """The setting names valid at ``loc`` (a path of field names from the root)."""
    model: type[BaseModel] = settings_model()
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _did_you_mean(name: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(name.lower(), valid, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; valid here: {', '.join(valid)}" if valid else ""


def _refuse_unknown_env_sections(
    model: type[BaseModel], environ: Callable[[], Any] = os.environ.copy
) -> None:
    """Refuse ``INFERWATCH_*`` variables that can only be typos of a setting.

    pydantic-settings only reads variables named after known fields, so these would
    otherwise be ignored in silence: a nested one (``INFERWATCH_X__Y``) whose section
    ``x`` does not exist, or an un-nested one very close to a setting's name
    (``INFERWATCH_LOG_LEVL``). Other un-nested names are left alone: tools around
    inferwatch use some (``INFERWATCH_CONFIG``, ``INFERWATCH_EXTRAS``).
    """
    names = list(model.model_fields)
    problems = []
    for variable in sorted(environ()):
        if not variable.startswith(ENV_PREFIX) or variable == CONFIG_ENV:
            continue
        head, nested, _ = variable.removeprefix(ENV_PREFIX).partition("__")
        key = head.lower()
        if key in names:
            continue
        if nested:
            hint = _did_you_mean(key, names)
            problems.append(f"  {variable}: unknown settings section {key!r}{hint}")
        elif difflib.get_close_matches(key, names, n=1, cutoff=0.85):
            problems.append(f"  {variable}: unknown setting{_did_you_mean(key, names)}")
    if problems:
        raise ConfigError("\n".join(["invalid settings (from the environment):", *problems]))
