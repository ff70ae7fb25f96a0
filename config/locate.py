"""Which config file and which store an entry point uses: one rule for all of them.

``vocwatch <command>``, ``scrapy crawl``, the scheduler's crawl processes and the
distributed worker all call :func:`find_config` / :func:`open_config`, so a command run
from another folder reads and writes the same store as one run beside the config file.

- The config file: the one named (``-c/--config``, ``-a config=``), else
  ``$VOCWATCH_CONFIG``, else ``./vocwatch.toml``, else the ``[vocwatch] config`` of the
  nearest ``scrapy.cfg`` in this folder or a parent (the repository's names the demo
  config, so ``scrapy crawl`` works from its root as Scrapy users expect).
- Paths written in a config file (``[store] url = "sqlite:///data/vocwatch.db"``,
  ``location_files``, the dashboard's token file beside the store) are relative to the
  config file's folder. Paths given on the command line or in the environment
  (``--store``, ``$VOCWATCH_STORE_URL``, ``$VOCWATCH_CONFIG``) are relative to the
  current folder, as a shell user expects.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

CONFIG_ENV = "VOCWATCH_CONFIG"
DEFAULT_CONFIG_NAME = "vocwatch.toml"
SCRAPY_CFG = "scrapy.cfg"
SCRAPY_CFG_SECTION = "vocwatch"


def find_config(explicit: str | Path | None = None, *, environ: Mapping[str, str] | None = None,
                cwd: Path | None = None) -> Path:
    """The config file to use, absolute (it may not exist: loading it then says so)."""
    env = os.environ if environ is None else environ
    here = Path.cwd() if cwd is None else cwd
    named = explicit or env.get(CONFIG_ENV)
    if named:
        return _absolute(Path(named), here)
    local = here / DEFAULT_CONFIG_NAME
    if local.exists():
        return _absolute(local, here)
    from_cfg = scrapy_cfg_config(here)
    return from_cfg if from_cfg is not None else _absolute(local, here)


def scrapy_cfg_config(start: Path) -> Path | None:
    """``[vocwatch] config`` of the nearest ``scrapy.cfg`` in ``start`` or a parent (the
    file Scrapy itself looks for to find a project), relative to that file's folder."""
    for folder in (start, *start.parents):
        cfg = folder / SCRAPY_CFG
        if not cfg.is_file():
            continue
        parser = configparser.ConfigParser()
        try:
            parser.read(cfg, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            return None
        value = parser.get(SCRAPY_CFG_SECTION, "config", fallback="").strip()
        return _absolute(Path(value), folder) if value else None
    return None


def _absolute(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def resolve_store_url(url: str, base: Path) -> str:
    """``url`` with a relative SQLite path made absolute against ``base``:
    ``sqlite:///data/x.db`` -> ``sqlite:////<base>/data/x.db``; a plain relative file
    path likewise. MongoDB URLs, absolute paths and ``:memory:`` pass unchanged."""
    if not url or ("://" in url and not url.startswith("sqlite:///")):
        return url  # mongodb://, or a malformed sqlite:// the store rejects with its own message
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    if path in ("", ":memory:") or os.path.isabs(path):
        return url
    return "sqlite:///" + str(_absolute(Path(path), base))


def open_config(explicit: str | Path | None = None, *, store: str | None = None,
                environ: Mapping[str, str] | None = None, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    """:func:`find_config`, loaded and checked; ``store`` (a ``--store`` value, relative to
    the current folder) replaces its store URL. Raises :class:`config.ConfigError`, whose
    message for a missing file that nobody named says where to name one."""
    from config.loader import ConfigError, load_config

    here = Path.cwd() if cwd is None else cwd
    path = find_config(explicit, environ=environ, cwd=here)
    try:
        config = load_config(path)
    except ConfigError as exc:
        env = os.environ if environ is None else environ
        if exc.problem == "file not found" and not (explicit or env.get(CONFIG_ENV)):
            raise ConfigError(path, "", "file not found (name a config with -c/--config, "
                              "`scrapy crawl ... -a config=FILE` or $VOCWATCH_CONFIG, or run where "
                              f"a {DEFAULT_CONFIG_NAME} is)") from None
        raise
    if store:
        config = replace(config, store_url=resolve_store_url(store, here), store_from="--store")
    return config


def store_notice(config, *, cwd: Path | None = None) -> str | None:  # type: ignore[no-untyped-def]
    """One line naming the config and store in use (password masked), when they are not
    the obvious ones: the config is not ``./vocwatch.toml``, or the store is not what
    its file says (``--store``, ``$VOCWATCH_STORE_URL``). None when they are."""
    from config.redact import mask_url

    here = Path.cwd() if cwd is None else cwd
    beside = Path(config.path).parent == _absolute(Path("."), here) and Path(config.path).name == DEFAULT_CONFIG_NAME
    if beside and config.store_from == "config":
        return None
    return f"config {config.path}, store {mask_url(config.store_url)}"
