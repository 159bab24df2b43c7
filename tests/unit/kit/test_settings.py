import pytest

from zhishui.config import DEV_SECRET, Settings, UnsafeSettings


def test_development_accepts_the_development_secret() -> None:
    Settings(env="development", secret_key=DEV_SECRET).check_safe()


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(UnsafeSettings):
        Settings(env="production", secret_key=DEV_SECRET).check_safe()


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(UnsafeSettings):
        Settings(env="production", secret_key="short").check_safe()


def test_production_refuses_to_run_without_the_address_phones_reach_it_at() -> None:
    with pytest.raises(UnsafeSettings, match="ZHISHUI_PUBLIC_URL"):
        Settings(env="production", secret_key="x" * 40).check_safe()
    Settings(env="production", secret_key="x" * 40, public_url="https://tax.example.cn").check_safe()


def test_the_default_database_is_a_sqlite_file_in_the_data_folder(tmp_path: object) -> None:
    s = Settings(data_dir="var/zs")  # type: ignore[arg-type]
    assert s.database_url == "sqlite:///var/zs/zhishui.db"


def test_settings_come_from_zhishui_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHISHUI_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("ZHISHUI_PORT", "9000")
    s = Settings()
    assert (s.database_url, s.port) == ("postgresql+psycopg://u@h/db", 9000)
