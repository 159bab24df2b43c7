"""Work notices to staff through DingTalk's OpenAPI (the `alibabacloud-dingtalk` SDK).

The message goes from the bureau's internal app robot into each person's one-to-one chat with it
(robot_1.0 `oToMessages/batchSend`, markdown), addressed by DingTalk user id; the staff member's
username is taken to be that id (set accounts up so, e.g. both the employee number). Configured by
`ZHISHUI_DINGTALK_APP_KEY`, `ZHISHUI_DINGTALK_APP_SECRET` and `ZHISHUI_DINGTALK_ROBOT_CODE` (the app
key when empty); without an app key the log provider stands in (app.py). The SDK is imported on
first use only, so nothing else pays for it. A failure raises DeliveryError and the outbox retries.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

from zhishui.channels.dingtalk import Notice, WorkNotice
from zhishui.notify.providers import DeliveryError

# DingTalk tokens live 7200 s; renew a little early so a notice never carries an expiring one.
TOKEN_MARGIN = dt.timedelta(minutes=5)
MAX_USERS = 20  # batchSend takes at most 20 user ids per call


class DingTalkWorkNotice:
    def __init__(self, app_key: str, app_secret: str, robot_code: str = "") -> None:
        if not app_key or not app_secret:
            raise ValueError("DingTalk work notices need an app key and secret")
        self._key = app_key
        self._secret = app_secret
        self._robot = robot_code or app_key
        self._token: tuple[str, dt.datetime] | None = None
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def _config(self) -> Any:
        from alibabacloud_tea_openapi import models as open_api_models

        return open_api_models.Config(protocol="https", region_id="central")

    def _client(self, name: str) -> Any:
        if name not in self._clients:
            if name == "oauth":
                from alibabacloud_dingtalk.oauth2_1_0.client import Client as OAuthClient

                self._clients[name] = OAuthClient(self._config())
            else:
                from alibabacloud_dingtalk.robot_1_0.client import Client as RobotClient

                self._clients[name] = RobotClient(self._config())
        return self._clients[name]

    def _access_token(self) -> str:
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            if self._token is not None and self._token[1] > now:
                return self._token[0]
            from alibabacloud_dingtalk.oauth2_1_0 import models as oauth_models

            try:
                response = self._client("oauth").get_access_token(
                    oauth_models.GetAccessTokenRequest(app_key=self._key, app_secret=self._secret)
                )
            except Exception as exc:  # the SDK raises its own TeaException and network errors
                raise DeliveryError(f"DingTalk access token: {exc}") from exc
            body = response.body
            expires = now + dt.timedelta(seconds=int(body.expire_in or 0)) - TOKEN_MARGIN
            self._token = (str(body.access_token), expires)
            return self._token[0]

    def send(self, notice: Notice) -> None:
        if not notice.staff_ids:
            raise ValueError("a work notice needs at least one recipient")
        from alibabacloud_dingtalk.robot_1_0 import models as robot_models
        from alibabacloud_tea_util import models as util_models

        text = f"#### {notice.title}\n\n{notice.text}"
        if notice.link:
            text += f"\n\n[查看工单]({notice.link})"
        param = json.dumps({"title": notice.title, "text": text}, ensure_ascii=False)
        headers = robot_models.BatchSendOTOHeaders(x_acs_dingtalk_access_token=self._access_token())
        ids = list(notice.staff_ids)
        for start in range(0, len(ids), MAX_USERS):
            request = robot_models.BatchSendOTORequest(
                msg_key="sampleMarkdown",
                msg_param=param,
                robot_code=self._robot,
                user_ids=ids[start : start + MAX_USERS],
            )
            try:
                self._client("robot").batch_send_otowith_options(
                    request, headers, util_models.RuntimeOptions()
                )
            except Exception as exc:
                raise DeliveryError(f"DingTalk work notice: {exc}") from exc


def work_notice_for(app_key: str, app_secret: str, robot_code: str, fallback: WorkNotice) -> WorkNotice:
    """The real provider when an app key is configured, else `fallback` (the log provider)."""
    if not app_key:
        return fallback
    return DingTalkWorkNotice(app_key, app_secret, robot_code)
