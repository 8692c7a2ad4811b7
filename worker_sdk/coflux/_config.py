"""Settings of the CLI and the worker: flags > ``COFLUX_*`` environment > coflux.toml > defaults.

The file is ``-c/--config``, else ``$COFLUX_CONFIG``, else ``coflux.toml`` in the working
directory if there is one::

    host = "localhost:7777"      # COFLUX_HOST
    project = "default"          # COFLUX_PROJECT
    workspace = "default"        # COFLUX_WORKSPACE
    token = "…"                  # COFLUX_TOKEN
    secure = false               # COFLUX_SECURE; default: TLS unless the host is local
    output = "text"              # COFLUX_OUTPUT: text | json

    [worker]
    modules = ["app.flows"]      # COFLUX_WORKER_MODULES (comma-separated)
    concurrency = 8              # COFLUX_WORKER_CONCURRENCY
    max_processes = 32           # COFLUX_WORKER_MAX_PROCESSES: blocked executions too (0: no cap)
    provides = {gpu = ["A100"]}  # COFLUX_WORKER_PROVIDES ("gpu:A100,fast")
    accepts = {tier = ["batch"]} # COFLUX_WORKER_ACCEPTS ("tier:batch")

    [logs]                       # how executions batch their log entries to the worker
    batch_size = 100             # COFLUX_LOGS_BATCH_SIZE: entries per message at most
    flush_interval = 0.05        # COFLUX_LOGS_FLUSH_INTERVAL: seconds an entry may wait

    [metrics]                    # likewise for metric points (COFLUX_METRICS_…)
    batch_size = 100
    flush_interval = 0.2

    [blobs]
    threshold = 200              # COFLUX_BLOBS_THRESHOLD: bytes a value may have inline (0: none)
    cache = "/var/cache/coflux"  # COFLUX_BLOBS_CACHE: fetched blobs [~/.cache/coflux/blobs]
    cache_size = 1073741824      # COFLUX_BLOBS_CACHE_SIZE: bytes kept at most (0: no limit)

    [[blobs.stores]]             # the first is written, all are read in order
    type = "http"                # the default store: the server's own (url defaults to it)
    url = "http://localhost:7777"
    [[blobs.stores]]
    type = "s3"                  # needs boto3 (pip install "coflux[s3]"); AWS_* credentials
    bucket = "my-bucket"
    prefix = "blobs"
    region = "eu-west-1"

Unknown keys are an error, so that a misspelt setting is not silently ignored. A top-level
``modules`` is accepted for ``[worker] modules``. Logs and metrics travel over the worker's
connection, so ``[logs]``/``[metrics]`` take no ``type``, ``url`` or ``token``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_HOST = "localhost:7777"
DEFAULT_PROJECT = "default"
DEFAULT_WORKSPACE = "default"
CONFIG_FILE = "coflux.toml"
OUTPUTS = ("text", "json")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


class ConfigError(Exception):
    """The configuration (file, environment or flags) is invalid."""


@dataclass(frozen=True)
class WorkerConfig:
    modules: tuple[str, ...] = ()
    concurrency: int | None = None
    max_processes: int | None = None
    """Executions at once, blocked ones included; ``None``: four times the concurrency."""
    provides: dict[str, list[str]] = field(default_factory=dict)
    accepts: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchingConfig:
    """How an executor batches log entries or metric points (``[logs]``, ``[metrics]``)."""

    batch_size: int = 100
    flush_interval: float = 0.2


# Log lines wait less than the reference's 0.5 s: they travel over the worker's connection, not
# to a store of their own, and output printed just before a process is killed (a timeout, a
# crash) should reach the server.
_BATCHING_DEFAULTS = {"logs": BatchingConfig(100, 0.05), "metrics": BatchingConfig(100, 0.2)}


@dataclass(frozen=True)
class BlobStoreConfig:
    """One ``[[blobs.stores]]`` entry: ``http`` (``url``, ``token``) or ``s3``."""

    type: str = "http"
    url: str | None = None
    """An http store's base URL; ``None`` is the server's own store."""
    token: str | None = None
    bucket: str | None = None
    prefix: str = ""
    region: str | None = None


@dataclass(frozen=True)
class BlobsConfig:
    threshold: int = 200
    """Encoded values larger than this many bytes go to the blob store (0: every value)."""
    stores: tuple[BlobStoreConfig, ...] = ()
    """Empty: the server's own store."""
    cache: str | None = None
    """Where fetched blobs are kept; ``None``: ``$XDG_CACHE_HOME/coflux/blobs``."""
    cache_size: int = 1 << 30
    """Bytes the cache keeps at most, the least recently used going first (0: no limit)."""


@dataclass(frozen=True)
class Config:
    host: str = DEFAULT_HOST
    project: str = DEFAULT_PROJECT
    workspace: str = DEFAULT_WORKSPACE
    token: str | None = None
    secure: bool = False
    output: str = "text"
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    logs: BatchingConfig = _BATCHING_DEFAULTS["logs"]
    metrics: BatchingConfig = _BATCHING_DEFAULTS["metrics"]
    blobs: BlobsConfig = field(default_factory=BlobsConfig)

    @property
    def server_url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.host}"


def _hostname(host: str) -> str:
    if host.startswith("["):  # [::1]:7777
        return host[: host.index("]") + 1] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":")[0]
    return host  # a name without a port, or a bare IPv6 address


def is_local_host(host: str) -> bool:
    """Whether ``host`` (with or without a port) is this machine, so TLS is off by default."""
    name = _hostname(host).lower()
    return name in _LOCAL_HOSTS or name.endswith(".localhost")


def parse_tags(values: Iterable[str]) -> dict[str, list[str]]:
    """``["gpu:A100,gpu:H100", "fast"]`` → ``{"gpu": ["A100", "H100"], "fast": ["true"]}``."""
    tags: dict[str, list[str]] = {}
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            key, sep, tag = item.partition(":")
            key, tag = key.strip(), tag.strip() if sep else "true"
            if not key or not tag:
                raise ConfigError(f"invalid tag {item!r}: use key:value or key")
            values_of_key = tags.setdefault(key, [])
            if tag not in values_of_key:
                values_of_key.append(tag)
    return tags


def _tags_setting(value: Any, where: str) -> dict[str, list[str]]:
    if isinstance(value, str):
        return parse_tags([value])
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return parse_tags(value)
    if isinstance(value, dict):
        tags: dict[str, list[str]] = {}
        for key, tag in value.items():
            if isinstance(tag, bool):
                tags[key] = ["true" if tag else "false"]
            elif isinstance(tag, str):
                tags[key] = [tag]
            elif isinstance(tag, list) and all(isinstance(t, str) for t in tag):
                tags[key] = list(tag)
            else:
                raise ConfigError(f"{where}.{key} must be a string, a boolean or strings")
        return tags
    raise ConfigError(f"{where} must be a table, a string or a list of strings")


def _modules_setting(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(m for m in value.replace(",", " ").split() if m)
    if isinstance(value, list) and all(isinstance(m, str) and m for m in value):
        return tuple(value)
    raise ConfigError(f"{where} must be a list of module names")


def _bool_setting(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{where} must be true or false, not {value!r}")


def _int_setting(value: Any, where: str) -> int:
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise ConfigError(f"{where} must be a whole number, not {value!r}") from None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{where} must be a whole number of at least 0")
    return value


def _seconds_setting(value: Any, where: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(f"{where} must be a number of seconds, not {value!r}") from None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < 3600:
        raise ConfigError(f"{where} must be a number of seconds from 0 to 3600")
    return float(value)


def _positive_int_setting(value: Any, where: str) -> int:
    value = _int_setting(value, where)
    if value < 1:
        raise ConfigError(f"{where} must be at least 1")
    return value


def _str_setting(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a non-empty string")
    return value


_TOP_LEVEL = {
    "host": _str_setting,
    "project": _str_setting,
    "workspace": _str_setting,
    "token": _str_setting,
    "secure": _bool_setting,
    "output": _str_setting,
    "modules": _modules_setting,
}
_WORKER = {
    "modules": _modules_setting,
    "concurrency": _int_setting,
    "max_processes": _int_setting,
    "provides": _tags_setting,
    "accepts": _tags_setting,
}
_BATCHING = {"batch_size": _positive_int_setting, "flush_interval": _seconds_setting}


_STORE_KEYS = {
    "http": {"type", "url", "token", "host", "protocol"},
    "s3": {"type", "bucket", "prefix", "region"},
}


def _store_setting(value: Any, where: str) -> BlobStoreConfig:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    kind = value.get("type", "http")
    if kind not in _STORE_KEYS:
        raise ConfigError(f"{where}.type must be http or s3, not {kind!r}")
    unknown = sorted(set(value) - _STORE_KEYS[kind])
    if unknown:
        raise ConfigError(f"unknown setting {where}.{unknown[0]} of a {kind} store")
    strings = {
        key: _str_setting(item, f"{where}.{key}")
        for key, item in value.items()
        if key not in ("type", "prefix")
    }
    if kind == "s3":
        if "bucket" not in strings:
            raise ConfigError(f"{where}: an s3 store needs a bucket")
        prefix = value.get("prefix", "")
        if not isinstance(prefix, str):
            raise ConfigError(f"{where}.prefix must be a string")
        return BlobStoreConfig(
            type="s3", bucket=strings["bucket"], prefix=prefix, region=strings.get("region")
        )
    url = strings.get("url")
    if url is None and "host" in strings:
        # The older form of an http store: ``host`` and ``protocol``.
        url = f"{strings.get('protocol', 'http')}://{strings['host']}"
    if url is not None and "://" not in url:
        url = f"{'http' if is_local_host(url) else 'https'}://{url}"
    return BlobStoreConfig(url=url.rstrip("/") if url else None, token=strings.get("token"))


def _blobs_table(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError("[blobs] must be a table")
    checked: dict[str, Any] = {}
    for key, item in value.items():
        if key == "threshold":
            checked[key] = _int_setting(item, "blobs.threshold")
        elif key == "cache":
            checked[key] = _str_setting(item, "blobs.cache")
        elif key == "cache_size":
            checked[key] = _int_setting(item, "blobs.cache_size")
        elif key == "stores":
            if not isinstance(item, list):
                raise ConfigError("blobs.stores must be a list of tables ([[blobs.stores]])")
            checked[key] = tuple(
                _store_setting(store, f"blobs.stores[{index}]") for index, store in enumerate(item)
            )
        else:
            raise ConfigError(f"unknown setting blobs.{key}")
    return checked


def _blobs(from_file: Mapping[str, Any], environ: Mapping[str, str]) -> BlobsConfig:
    """``[blobs]``: ``COFLUX_BLOBS_THRESHOLD``/``_CACHE``/``_CACHE_SIZE`` > the file > defaults."""
    values = dict(from_file)
    settings = (("threshold", _int_setting), ("cache", _str_setting), ("cache_size", _int_setting))
    for key, check in settings:
        env_name = f"COFLUX_BLOBS_{key.upper()}"
        if environ.get(env_name):
            values[key] = check(environ[env_name], env_name)
    return BlobsConfig(**values)


def _config_path(flag: str | None, environ: Mapping[str, str], cwd: Path) -> Path | None:
    explicit = flag or environ.get("COFLUX_CONFIG")
    if explicit:
        path = cwd / explicit
        if not path.is_file():
            raise ConfigError(f"configuration file {explicit} not found")
        return path
    default = cwd / CONFIG_FILE
    return default if default.is_file() else None


def read_config_file(path: Path) -> dict[str, Any]:
    """The file's settings, checked: ``{key: value, "worker": {key: value}}``."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    settings: dict[str, Any] = {"worker": {}}
    for key, value in raw.items():
        if key == "worker":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [worker] must be a table")
            for worker_key, worker_value in value.items():
                check = _WORKER.get(worker_key)
                if check is None:
                    raise ConfigError(f"{path}: unknown setting worker.{worker_key}")
                settings["worker"][worker_key] = check(worker_value, f"worker.{worker_key}")
        elif key == "blobs":
            try:
                settings["blobs"] = _blobs_table(value)
            except ConfigError as exc:
                raise ConfigError(f"{path}: {exc}") from None
        elif key in _BATCHING_DEFAULTS:
            settings[key] = _batching_table(value, f"{path}: [{key}]", key)
        elif key in _TOP_LEVEL:
            checked = _TOP_LEVEL[key](value, key)
            if key == "modules":
                settings["worker"].setdefault("modules", checked)
            else:
                settings[key] = checked
        else:
            raise ConfigError(f"{path}: unknown setting {key}")
    return settings


def _batching_table(value: Any, where: str, section: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    checked = {}
    for key, item in value.items():
        if key in ("type", "url", "token"):
            raise ConfigError(
                f"{where}: {section} travel over the worker's connection to the server; "
                f"there is no {key} to set (only batch_size and flush_interval)"
            )
        if key not in _BATCHING:
            raise ConfigError(f"{where}: unknown setting {section}.{key}")
        checked[key] = _BATCHING[key](item, f"{section}.{key}")
    return checked


def _batching(
    section: str, from_file: Mapping[str, Any], environ: Mapping[str, str]
) -> BatchingConfig:
    """``[logs]`` or ``[metrics]``: ``COFLUX_<SECTION>_<KEY>`` > the file > the defaults."""
    values = asdict(_BATCHING_DEFAULTS[section])
    for key, check in _BATCHING.items():
        env_name = f"COFLUX_{section.upper()}_{key.upper()}"
        if environ.get(env_name):
            values[key] = check(environ[env_name], env_name)
        elif key in from_file:
            values[key] = from_file[key]
    return BatchingConfig(**values)


def batching_setting(section: str, environ: Mapping[str, str] | None = None) -> BatchingConfig:
    """``[logs]``/``[metrics]`` as an executor process sees them: the worker exports them to
    the environment (``batching_environment``); invalid values, reported by the worker
    already, fall back to the defaults."""
    try:
        return _batching(section, {}, os.environ if environ is None else environ)
    except ConfigError:
        return _BATCHING_DEFAULTS[section]


def batching_environment(config: Config) -> dict[str, str]:
    """``[logs]``/``[metrics]`` as environment variables, for the worker's executor processes."""
    return {
        f"COFLUX_{section.upper()}_{key.upper()}": str(value)
        for section, batching in (("logs", config.logs), ("metrics", config.metrics))
        for key, value in asdict(batching).items()
    }


def load_config(
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Config:
    """Resolve the settings; ``flags`` holds only the command-line options that were given.

    Flag names are the config keys plus ``config`` (the file to read).
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    path = _config_path(flags.get("config"), environ, cwd)
    from_file = read_config_file(path) if path is not None else {"worker": {}}

    def pick(key: str, check: Any, default: Any) -> Any:
        if key in flags:
            return check(flags[key], f"--{key}")
        env_name = f"COFLUX_{key.upper()}"
        if environ.get(env_name):
            return check(environ[env_name], env_name)
        return from_file.get(key, default)

    host = pick("host", _str_setting, DEFAULT_HOST)
    scheme, sep, rest = host.partition("://")
    secure = pick("secure", _bool_setting, None)
    if sep:
        if scheme not in ("http", "https"):
            raise ConfigError(f"host {host!r}: the scheme must be http or https")
        host = rest
        secure = (scheme == "https") if secure is None else secure
    host = host.rstrip("/")
    output = pick("output", _str_setting, "text")
    if output not in OUTPUTS:
        raise ConfigError(f"output must be one of {', '.join(OUTPUTS)}, not {output!r}")

    file_worker = from_file["worker"]
    env_modules = environ.get("COFLUX_WORKER_MODULES")
    env_concurrency = environ.get("COFLUX_WORKER_CONCURRENCY")
    env_max_processes = environ.get("COFLUX_WORKER_MAX_PROCESSES")
    env_provides = environ.get("COFLUX_WORKER_PROVIDES")
    env_accepts = environ.get("COFLUX_WORKER_ACCEPTS")
    worker = WorkerConfig(
        modules=(
            _modules_setting(env_modules, "COFLUX_WORKER_MODULES")
            if env_modules
            else file_worker.get("modules", ())
        ),
        concurrency=(
            _int_setting(env_concurrency, "COFLUX_WORKER_CONCURRENCY")
            if env_concurrency
            else file_worker.get("concurrency")
        ),
        max_processes=(
            _int_setting(env_max_processes, "COFLUX_WORKER_MAX_PROCESSES")
            if env_max_processes
            else file_worker.get("max_processes")
        ),
        provides=(
            _tags_setting(env_provides, "COFLUX_WORKER_PROVIDES")
            if env_provides
            else file_worker.get("provides", {})
        ),
        accepts=(
            _tags_setting(env_accepts, "COFLUX_WORKER_ACCEPTS")
            if env_accepts
            else file_worker.get("accepts", {})
        ),
    )
    return Config(
        host=host,
        project=pick("project", _str_setting, DEFAULT_PROJECT),
        workspace=pick("workspace", _str_setting, DEFAULT_WORKSPACE),
        token=pick("token", _str_setting, None),
        secure=(not is_local_host(host)) if secure is None else secure,
        output=output,
        worker=worker,
        logs=_batching("logs", from_file.get("logs", {}), environ),
        metrics=_batching("metrics", from_file.get("metrics", {}), environ),
        blobs=_blobs(from_file.get("blobs", {}), environ),
    )
