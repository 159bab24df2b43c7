"""Settings from the environment (prefix ZHISHUI_). Unsafe defaults are refused outside development."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "zhishui-development-secret-do-not-deploy"

# Channel credentials a development server (and the demo traffic simulator) uses. Anyone can read
# them here, so a production server refuses to start with any of them (check_safe).
DEV_WECHAT_TOKEN = "zhishui-dev-wechat-token"
DEV_WECHAT_APP_ID = "wx0000zhishuidemo"
DEV_WECHAT_APP_SECRET = "zhishui-dev-wechat-app-secret"
DEV_WECHAT_AES_KEY = "WmhpU2h1aURldmVsb3BtZW50S2V5Rm9yV2VDaGF0QUV"  # 43 characters, as WeChat shows them
DEV_DINGTALK_APP_SECRET = "zhishui-dev-dingtalk-app-secret"
DEV_CTI_SECRET = "zhishui-dev-cti-shared-secret"
DEV_ETAX_SECRET = "zhishui-dev-etax-shared-secret"
DEV_CHANNEL_SECRETS = frozenset(
    {
        DEV_WECHAT_TOKEN,
        DEV_WECHAT_APP_SECRET,
        DEV_WECHAT_AES_KEY,
        DEV_DINGTALK_APP_SECRET,
        DEV_CTI_SECRET,
        DEV_ETAX_SECRET,
    }
)


class UnsafeSettings(RuntimeError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHISHUI_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = DEV_SECRET
    host: str = "127.0.0.1"
    port: int = 8000
    # The address taxpayers' phones reach this service at (https://…), for links in SMS and QR codes.
    # Required in production; in development a request's links use the address it came in at.
    public_url: str = ""
    # Addresses of reverse proxies whose X-Forwarded-For is trusted, so that per-address limits see
    # the taxpayer's address rather than the proxy's ("*" trusts any: only behind a closed network).
    forwarded_allow_ips: str = "127.0.0.1"
    run_worker: bool = True
    worker_interval_seconds: float = 1.0
    auto_mode_interval_seconds: float = 30.0  # how often halls in auto mode re-check their stations
    booking_interval_seconds: float = 60.0  # how often slots ahead, reminders and no-shows are seen to
    max_body_bytes: int = 1_048_576
    # Requests a server process works on at once; the rest wait their turn. Keep it below both the
    # database pool (30 connections) and the thread pool (40 threads): see kit.middleware.InFlightLimit.
    max_in_flight: int = 24
    session_hours: int = 12
    login_max_failures: int = 5
    login_window_minutes: int = 15
    otp_ttl_seconds: int = 300
    otp_per_phone_per_hour: int = 5
    otp_per_address_per_hour: int = 20
    otp_resend_seconds: int = 60
    demo_password: str = "demo1234"
    # The kiosk's ESC/POS ticket printer: "" for none, "host:port" for a network printer (hall.printing).
    ticket_printer: str = ""
    # Pre-review uploads (booking.prereview_storage): stored outside the web root, never under
    # web/static; unset: <data_dir>/uploads.
    upload_dir: Path | None = None
    upload_max_file_bytes: int = 10 * 1024 * 1024  # per file
    upload_max_files: int = 10  # per pre-review
    # Days after a booking's slot that its pre-review materials (personal data) are kept.
    prereview_retention_days: int = 90
    # --- the center's channels (channels.routes) ---
    # The org unit (by code) whose inbox channel traffic lands in; unset in development: the first
    # unit of kind tax_center. A channel whose secret is unset is switched off (404).
    center_unit: str = ""
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""  # for the customer-service message API (replies)
    wechat_aes_key: str = ""  # EncodingAESKey, 43 characters; needed in compatible and safe mode
    wechat_mode: Literal["plain", "compatible", "safe"] = "plain"
    dingtalk_app_secret: str = ""
    cti_secret: str = ""  # shared with the phone system (channels.cti), 16+ characters
    etax_secret: str = ""  # shared with the e-tax system for online submissions (channels.etax), 16+
    web_channel: bool = True  # the help form and chat widget for the e-tax site (/help)
    # DingTalk work notices about work orders (channels.dingtalk_notice): the internal app's key (its
    # secret is dingtalk_app_secret) and its robot code (the key when empty); no key: notices are logged.
    dingtalk_app_key: str = ""
    dingtalk_robot_code: str = ""
    workorder_interval_seconds: float = 60.0  # how often work-order reminders and escalations are seen to
    # How often the worker writes the history snapshots for the heavy analyses (insight.analytics).
    analytics_export_interval_seconds: float = 3600.0
    warning_interval_seconds: float = 60.0  # how often early-warning rules are evaluated

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'zhishui.db').as_posix()}"
        if self.upload_dir is None:
            self.upload_dir = self.data_dir / "uploads"
        if self.is_development:
            self._development_channels()
        return self

    def _development_channels(self) -> None:
        """Fixed demo credentials, so every channel (and the simulator) works out of the box."""
        if not self.wechat_token:
            self.wechat_token = DEV_WECHAT_TOKEN
            self.wechat_app_id = self.wechat_app_id or DEV_WECHAT_APP_ID
            self.wechat_app_secret = self.wechat_app_secret or DEV_WECHAT_APP_SECRET
            self.wechat_aes_key = self.wechat_aes_key or DEV_WECHAT_AES_KEY
            # Both plain and encrypted posts are accepted, so the simulator can send either.
            if "wechat_mode" not in self.model_fields_set:
                self.wechat_mode = "compatible"
        self.dingtalk_app_secret = self.dingtalk_app_secret or DEV_DINGTALK_APP_SECRET
        self.cti_secret = self.cti_secret or DEV_CTI_SECRET
        self.etax_secret = self.etax_secret or DEV_ETAX_SECRET

    @property
    def is_development(self) -> bool:
        return self.env in ("development", "test")

    def check_safe(self) -> None:
        """Refuse to run a production deployment on development secrets."""
        if self.is_development:
            return
        if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
            raise UnsafeSettings("ZHISHUI_SECRET_KEY must be set to a random value of 32+ characters")
        if not self.public_url.startswith(("https://", "http://")):
            # Every SMS and QR code links to it: a phone cannot open a link without an address.
            raise UnsafeSettings("ZHISHUI_PUBLIC_URL must be the address phones reach this service at")
        self._check_channels()

    def _check_channels(self) -> None:
        demo = sorted(
            name
            for name in (
                "wechat_token",
                "wechat_app_secret",
                "wechat_aes_key",
                "dingtalk_app_secret",
                "cti_secret",
                "etax_secret",
            )
            if getattr(self, name) in DEV_CHANNEL_SECRETS
        )
        if demo:
            names = ", ".join(f"ZHISHUI_{n.upper()}" for n in demo)
            raise UnsafeSettings(f"{names}: the development channel secrets are public; set your own")
        if self.cti_secret and len(self.cti_secret) < 16:
            raise UnsafeSettings("ZHISHUI_CTI_SECRET must be 16+ characters")
        if self.etax_secret and len(self.etax_secret) < 16:
            raise UnsafeSettings("ZHISHUI_ETAX_SECRET must be 16+ characters")
        if self.wechat_token and not self.wechat_app_id:
            raise UnsafeSettings("ZHISHUI_WECHAT_APP_ID is needed with ZHISHUI_WECHAT_TOKEN")
        if self.wechat_token and self.wechat_mode != "plain" and len(self.wechat_aes_key) != 43:
            raise UnsafeSettings("ZHISHUI_WECHAT_AES_KEY must be the 43-character EncodingAESKey")


@lru_cache
def get_settings() -> Settings:
    return Settings()
