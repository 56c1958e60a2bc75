"""Configuration: defaults, validation naming the variable, DATABASE_URL, `python -m bot`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings, TryIt, load_settings, parse_database_url, try_it_mode
from bot.errors import ConfigError

TOKEN = "123456:ABCdef_ghi-jkl"
ROOT = Path(__file__).resolve().parent.parent


def test_defaults_follow_the_design() -> None:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.database_path == Path("data/petitesmains.db")
    assert settings.data_dir == Path("data")
    assert settings.monthly_cap == 25_000
    assert settings.min_hourly_rate == 1_000
    assert settings.currency == "EUR"
    assert str(settings.timezone) == "Europe/Paris"
    assert settings.admin_ids == frozenset()


def test_every_variable_is_read() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": "http://127.0.0.1:8081/",
            "DATABASE_URL": "sqlite:////var/lib/pm.db",
            "DATA_DIR": "/srv/media",
            "ADMIN_IDS": "1, 2",
            "REQUESTER_IDS": "3",
            "MONTHLY_CAP": "300,50",
            "CURRENCY": "chf",
            "MIN_HOURLY_RATE": "12.5",
            "TIMEZONE": "America/Montreal",
        }
    )
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.database_path == Path("/var/lib/pm.db")
    assert settings.data_dir == Path("/srv/media")
    assert settings.admin_ids == {1, 2}
    assert settings.requester_ids == {3}
    assert settings.monthly_cap == 30_050
    assert settings.currency == "CHF"
    assert settings.min_hourly_rate == 1_250
    assert str(settings.timezone) == "America/Montreal"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TELEGRAM_BOT_TOKEN", "not-a-token"),
        ("TELEGRAM_API_URL", "ftp://example"),
        ("DATABASE_URL", "mysql://x"),
        ("DATABASE_URL", "postgresql://localhost"),
        ("TELEGRAM_WEBHOOK_URL", "ftp://example/hook"),
        ("ADMIN_IDS", "12,abc"),
        ("REQUESTER_IDS", "-5"),
        ("MONTHLY_CAP", "-1"),
        ("MONTHLY_CAP", "12.345"),
        ("CURRENCY", "EURO"),
        ("MIN_HOURLY_RATE", "ten"),
        ("TIMEZONE", "Mars/Olympus"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_a_malformed_value_names_its_variable(variable: str, value: str) -> None:
    environ = {"TELEGRAM_BOT_TOKEN": TOKEN, variable: value}
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    assert caught.value.variable == variable


def test_missing_token_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({})
    assert caught.value.variable == "TELEGRAM_BOT_TOKEN"


def test_database_url_forms() -> None:
    assert parse_database_url("sqlite:///relative.db") == Path("relative.db")
    assert parse_database_url("sqlite:///data/x.db") == Path("data/x.db")
    assert parse_database_url("sqlite:////absolute.db") == Path("/absolute.db")


def test_settings_repr_hides_the_token() -> None:
    assert TOKEN not in repr(load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}))
    assert TOKEN not in str(Settings(telegram_bot_token=TOKEN))


def test_python_m_bot_without_token_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,  # no .env there
        env={**env, "PYTHONPATH": str(ROOT), "TRY_IT_MODE": "off"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "TELEGRAM_BOT_TOKEN" in lines[0]
    assert result.stdout == ""


def test_python_m_bot_with_a_malformed_value_names_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nMONTHLY_CAP=lots\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MONTHLY_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: MONTHLY_CAP must be a positive amount like 250.00, not 'lots'"
    ]


def test_try_it_mode_runs_without_a_token_unless_turned_off() -> None:
    assert try_it_mode({}) == TryIt(data_dir=Path("data/tryit"))
    assert try_it_mode({"TELEGRAM_BOT_TOKEN": TOKEN}) is None
    assert try_it_mode({"TRY_IT_MODE": "off"}) is None
    assert try_it_mode({"TRY_IT_MODE": "on", "TELEGRAM_BOT_TOKEN": TOKEN}) is not None
    found = try_it_mode({"TRY_IT_PORT": "9000", "TRY_IT_HOST": "0.0.0.0", "DATA_DIR": "/srv/pm"})
    assert found == TryIt(host="0.0.0.0", port=9000, data_dir=Path("/srv/pm/tryit"))
    assert found.database_path == Path("/srv/pm/tryit/petitesmains-tryit.db")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TRY_IT_MODE", "maybe"), ("TRY_IT_PORT", "http"), ("TRY_IT_PORT", "70000")],
)
def test_bad_try_it_settings_are_named(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        try_it_mode({variable: value})
    assert caught.value.variable == variable


def test_postgresql_and_webhook_settings(make_settings) -> None:
    settings = make_settings(
        database_url="postgresql://pm:secret@db.internal:5432/pm",
        telegram_webhook_url="https://bot.example/hook",
        webhook_port="8601",
        telegram_webhook_secret="s3cret",
    )
    assert settings.database_path == "postgresql://pm:secret@db.internal:5432/pm"
    assert "secret@" not in repr(settings)
    assert settings.webhook is not None
    assert (settings.webhook.url, settings.webhook.port) == ("https://bot.example/hook", 8601)
    assert settings.webhook.secret == "s3cret"
    assert make_settings().webhook is None
    with pytest.raises(ConfigError, match="WEBHOOK_PORT"):
        make_settings(telegram_webhook_url="https://bot.example/hook", webhook_port="99999")


def test_limits_and_thresholds_default_to_the_design() -> None:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert settings.intake.zip.max_total_bytes == 500_000_000
    assert settings.intake.zip.max_members == 5_000
    assert settings.intake.audio.max_seconds == 7_200
    assert settings.intake.max_pixels == 40_000_000
    assert settings.intake.chunk_ms == 30_000
    assert settings.quality.pause.threshold == 0.6
    assert settings.quality.speed.max_flags == 3
    assert settings.quality.gold_share == 0.125
    assert settings.quality.training_items == 3


def test_limits_and_thresholds_come_from_the_environment() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "MAX_ZIP_BYTES": "1000",
            "MAX_ZIP_FILES": "7",
            "MAX_AUDIO_SECONDS": "60",
            "MAX_IMAGE_PIXELS": "100",
            "CHUNK_SECONDS": "20",
            "QUALITY_PAUSE_BELOW": "0.5",
            "SPEED_WINDOW": "20",
            "TRAINING_ITEMS": "0",
        }
    )
    assert settings.intake.zip.max_total_bytes == 1_000
    assert settings.intake.zip.max_members == 7
    assert settings.intake.audio.max_seconds == 60
    assert settings.intake.max_pixels == 100
    assert settings.intake.chunk_ms == 20_000
    assert settings.quality.pause.threshold == 0.5
    assert settings.quality.speed.window == 20
    assert settings.quality.training_items == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_ZIP_BYTES", "lots"),
        ("MAX_ZIP_BYTES", "0"),
        ("MAX_ZIP_FILES", "²"),
        ("MAX_AUDIO_SECONDS", "-5"),
        ("MAX_IMAGE_PIXELS", "999999999999"),
        ("CHUNK_SECONDS", "5"),
        ("QUALITY_PAUSE_BELOW", "1.5"),
        ("GOLD_SHARE", "half"),
        ("LABEL_STOP_CONFIDENCE", "0"),
        ("SPEED_MAX_FLAGS", "3.5"),
    ],
)
def test_a_bad_limit_is_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, name: value})
    assert caught.value.variable == name
    assert name in str(caught.value)
