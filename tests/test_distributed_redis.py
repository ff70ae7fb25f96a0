"""The foundation of distributed crawling: the ``[distributed]`` config and a real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_config
from crawlers.distributed import RedisUnavailable, key, redis_client
from tests.conftest import ONE_HOTEL
from tests.redis_server import RedisServer, free_port, require_redis_server


def _config(tmp_path: Path, table: str) -> Path:
    p = tmp_path / "vocwatch.toml"
    p.write_text(ONE_HOTEL + table, encoding="utf-8")
    return p


def test_distributed_is_off_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOCWATCH_REDIS_URL", raising=False)
    cfg = load_config(_config(tmp_path, ""))
    assert not cfg.distributed.enabled and cfg.distributed.key_prefix == "vocwatch"


def test_redis_url_from_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOCWATCH_REDIS_URL", "redis://:s3cretpass@10.0.0.5:6379/2")
    cfg = load_config(_config(tmp_path, '[distributed]\nredis_url = "redis://127.0.0.1:6379/0"\n'))
    assert cfg.distributed.redis_url == "redis://:s3cretpass@10.0.0.5:6379/2"
    assert "s3cretpass" in cfg.secrets  # masked in every log line from now on


def test_a_literal_redis_password_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOCWATCH_REDIS_URL", raising=False)
    with pytest.raises(ConfigError) as err:
        load_config(_config(tmp_path, '[distributed]\nredis_url = "redis://:hunter2hunter2@h:6379/0"\n'))
    assert "distributed.redis_url" in str(err.value) and "hunter2hunter2" not in str(err.value)
    monkeypatch.setenv("REDIS_PW", "hunter2hunter2")
    cfg = load_config(_config(tmp_path, '[distributed]\nredis_url = "redis://:${REDIS_PW}@h:6379/0"\n'))
    assert cfg.distributed.redis_url == "redis://:hunter2hunter2@h:6379/0"


@pytest.mark.parametrize("table, problem", [
    ('redis_url = "http://h:6379"', "redis://"),
    ("lease_seconds = 0", "lease_seconds"),
    ("workers_per_job = 0", "workers_per_job"),
    ("leases = 3", "leases"),
])
def test_bad_distributed_settings_fail_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str,
                                            problem: str) -> None:
    monkeypatch.delenv("VOCWATCH_REDIS_URL", raising=False)
    with pytest.raises(ConfigError) as err:
        load_config(_config(tmp_path, f"[distributed]\n{table}\n"))
    assert "vocwatch.toml" in str(err.value) and problem in str(err.value)


def test_keys_carry_the_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOCWATCH_REDIS_URL", raising=False)
    cfg = load_config(_config(tmp_path, '[distributed]\nkey_prefix = "chain1"\n'))
    assert key(cfg.distributed, "jobs", "ready") == "chain1:jobs:ready"


def test_a_real_redis_answers_and_keeps_data_over_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_redis_server()
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        monkeypatch.setenv("VOCWATCH_REDIS_URL", server.url)
        cfg = load_config(_config(tmp_path, ""))
        r = redis_client(cfg.distributed)
        r.set(key(cfg.distributed, "probe"), b"1")
        server.restart()
        assert redis_client(cfg.distributed).get(key(cfg.distributed, "probe")) == b"1"
    finally:
        server.stop()


def test_an_unreachable_redis_fails_with_the_masked_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOCWATCH_REDIS_URL", f"redis://:topsecretpw@127.0.0.1:{free_port()}/0")
    cfg = load_config(_config(tmp_path, ""))
    with pytest.raises(RedisUnavailable) as err:
        redis_client(cfg.distributed)
    assert "127.0.0.1" in str(err.value) and "topsecretpw" not in str(err.value)
