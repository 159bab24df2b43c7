"""Demo traffic for the center: taxpayers writing on WeChat and DingTalk, calling 12366 and asking on
the e-tax site's help page, posted to a running server's real endpoints, signed as each platform
signs. The demo inbox then fills the way a real one does, and every byte goes through the same
verification, replay cache and inbox as production traffic.

The questions are built from the catalog's matters (their names and what taxpayers call them) with
phrasings of our own. Development only: it signs with the development channel secrets.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from zhishui.channels import cti as cti_channel
from zhishui.channels import dingtalk as dingtalk_channel
from zhishui.channels import signed_json
from zhishui.channels import wechat as wechat_channel
from zhishui.config import Settings

CATALOG = Path(__file__).resolve().parents[1] / "catalog" / "default_catalog.yaml"
BASE = "/api/v1/center/channels"

# Our own phrasings; {m} is a matter's name or one of its aliases.
QUESTION_FORMS = (
    "您好，请问{m}怎么办理？",
    "{m}需要准备哪些材料？",
    "想咨询一下{m}，可以在电子税务局上办吗？",
    "{m}大概要多长时间？需要去大厅吗",
    "请问{m}在网上哪个菜单？找了半天没找到",
    "{m}，我们公司第一次弄，麻烦指导一下",
    "{m}这个事情能不能预约？",
)
FOLLOW_UPS = ("好的，谢谢", "还有一个问题，需要法人本人到场吗？", "收到，我试试", "请问今天能办完吗？")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"


def catalog_phrases(path: Path = CATALOG) -> list[str]:
    """Matter names and aliases, as a taxpayer would put them."""
    matters = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    phrases: list[str] = []
    for matter in matters:
        phrases.append(str(matter["name"]))
        phrases.extend(str(a) for a in matter.get("aliases") or [])
    return phrases


@dataclass(frozen=True)
class Post:
    """One HTTP request to make."""

    path: str
    content: bytes
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


# --- signed callbacks -----------------------------------------------------------------------------


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def wechat_xml(openid: str, msg_id: int, created: int, kind: str, text: str) -> str:
    head = (
        f"<xml><ToUserName>{_cdata('gh_zhishuidemo01')}</ToUserName><FromUserName>{_cdata(openid)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType>{_cdata(kind)}</MsgType>"
    )
    if kind == "image":
        body = f"<PicUrl>{_cdata('http://mmbiz.qpic.cn/demo/' + str(msg_id))}</PicUrl><MediaId>{_cdata(f'img{msg_id}')}</MediaId>"
    elif kind == "voice":
        body = (
            f"<MediaId>{_cdata(f'voice{msg_id}')}</MediaId><Format>{_cdata('amr')}</Format>"
            f"<Recognition>{_cdata(text)}</Recognition>"
        )
    else:
        body = f"<Content>{_cdata(text)}</Content>"
    return f"{head}{body}<MsgId>{msg_id}</MsgId></xml>"


def wechat_post(
    settings: Settings,
    openid: str,
    msg_id: int,
    now: float,
    *,
    kind: str = "text",
    text: str = "",
    encrypt: bool,
) -> Post:
    timestamp = str(int(now))
    nonce = str(random.randint(10**8, 10**10))
    xml = wechat_xml(openid, msg_id, int(now), kind, text)
    params = {
        "signature": wechat_channel.sign(settings.wechat_token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": openid,
    }
    if not encrypt:
        return Post(f"{BASE}/wechat", xml.encode(), params)
    from wechatpy.crypto import PrpCrypto

    crypto = PrpCrypto(wechat_channel.aes_key(settings.wechat_aes_key))
    encrypted = crypto.encrypt(xml, settings.wechat_app_id).decode()
    params["encrypt_type"] = "aes"
    params["msg_signature"] = wechat_channel.sign(settings.wechat_token, timestamp, nonce, encrypted)
    body = f"<xml><ToUserName>{_cdata('gh_zhishuidemo01')}</ToUserName><Encrypt>{_cdata(encrypted)}</Encrypt></xml>"
    return Post(f"{BASE}/wechat", body.encode(), params)


def dingtalk_post(settings: Settings, staff_id: str, nick: str, msg_id: str, now: float, text: str) -> Post:
    ms = int(now * 1000)
    body = {
        "msgtype": "text",
        "text": {"content": text},
        "msgId": msg_id,
        "createAt": ms,
        "conversationType": "1",
        "conversationId": "cid" + hashlib.sha1(staff_id.encode()).hexdigest()[:20],
        "senderId": "$:LWCP_v1:$" + hashlib.sha1(nick.encode()).hexdigest()[:16],
        "senderNick": nick,
        "senderStaffId": staff_id,
        "senderCorpId": "dingzhishuidemocorp",
        "chatbotUserId": "$:LWCP_v1:$demobot",
        "robotCode": "dingzhishuidemorobot",
        "sessionWebhook": f"https://oapi.dingtalk.com/robot/sendBySession?session={uuid.uuid4().hex}",
        "sessionWebhookExpiredTime": ms + 90 * 60 * 1000,
    }
    timestamp = str(ms)
    headers = {
        "timestamp": timestamp,
        "sign": dingtalk_channel.sign(timestamp, settings.dingtalk_app_secret),
        "content-type": "application/json",
    }
    return Post(f"{BASE}/dingtalk", json.dumps(body, ensure_ascii=False).encode(), headers=headers)


def cti_post(settings: Settings, event: dict[str, Any], now: float) -> Post:
    body = json.dumps(event, ensure_ascii=False).encode()
    timestamp = str(int(now))
    headers = {
        cti_channel.TIMESTAMP_HEADER: timestamp,
        cti_channel.SIGNATURE_HEADER: signed_json.sign(settings.cti_secret, timestamp, body),
        "content-type": "application/json",
    }
    return Post(f"{BASE}/cti", body, headers=headers)


def call_events(
    call_id: str, caller: str, start: float, rng: random.Random
) -> list[tuple[float, dict[str, Any]]]:
    """(seconds from now, event) of one call: ringing, usually answered, hung up."""
    ms = int(start * 1000)
    events: list[tuple[float, dict[str, Any]]] = [
        (0.0, {"event": "newCall", "callId": call_id, "at": ms, "caller": caller, "called": "12366"})
    ]
    if rng.random() < 0.85:
        ring = rng.uniform(3, 20)
        talk = int(rng.uniform(60, 420))
        events.append(
            (
                ring,
                {
                    "event": "answer",
                    "callId": call_id,
                    "at": ms + int(ring * 1000),
                    "agent": f"80{rng.randint(1, 12):02d}",
                },
            )
        )
        end = ring + talk
        events.append(
            (
                end,
                {
                    "event": "hangup",
                    "callId": call_id,
                    "at": ms + int(end * 1000),
                    "cause": "normal",
                    "duration": talk,
                    "recording": f"rec/{call_id}.wav",
                },
            )
        )
    else:
        give_up = rng.uniform(15, 60)
        events.append(
            (
                give_up,
                {
                    "event": "hangup",
                    "callId": call_id,
                    "at": ms + int(give_up * 1000),
                    "cause": "caller_abandon",
                    "duration": 0,
                },
            )
        )
    return events


# --- the run ----------------------------------------------------------------------------------------

CHANNEL_WEIGHTS = (("wechat", 0.45), ("phone", 0.25), ("web", 0.2), ("dingtalk", 0.1))


@dataclass
class Tally:
    sent: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, channel: str, ok: bool) -> None:
        with self.lock:
            target = self.sent if ok else self.refused
            target[channel] = target.get(channel, 0) + 1


@dataclass
class Simulator:
    """Posts traffic to ``base_url`` at ``rate`` contacts a minute (Poisson arrivals)."""

    base_url: str
    settings: Settings
    rate: float
    seed: int | None = None
    phrases: Sequence[str] = field(default_factory=catalog_phrases)
    clock: Callable[[], float] = time.time
    tally: Tally = field(default_factory=Tally)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.http = httpx.Client(base_url=self.base_url, timeout=15)
        self._timers: list[threading.Timer] = []
        self._msg_id = int(self.clock() * 1000) * 1000
        self._web: list[tuple[httpx.Client, str]] = []

    def question(self) -> str:
        return self.rng.choice(QUESTION_FORMS).format(m=self.rng.choice(self.phrases))

    def _next_id(self) -> int:
        self._msg_id += 1
        return self._msg_id

    def _send(self, channel: str, post: Post) -> None:
        try:
            response = self.http.post(
                post.path, content=post.content, params=post.params, headers=post.headers
            )
            self.tally.count(channel, response.status_code == 200)
        except httpx.HTTPError:
            self.tally.count(channel, False)

    def _later(self, seconds: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def wechat(self) -> None:
        openid = "oDemo" + "".join(
            self.rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789", k=23)
        )
        kind = self.rng.choices(["text", "image", "voice"], [0.8, 0.1, 0.1])[0]
        mode = self.settings.wechat_mode
        encrypt = mode == "safe" or (mode == "compatible" and self.rng.random() < 0.5)
        post = wechat_post(
            self.settings,
            openid,
            self._next_id(),
            self.clock(),
            kind=kind,
            text=self.question(),
            encrypt=encrypt,
        )
        self._send("wechat", post)
        if self.rng.random() < 0.3:
            follow = self.rng.choice(FOLLOW_UPS)
            self._later(
                self.rng.uniform(20, 90),
                lambda: self._send(
                    "wechat",
                    wechat_post(
                        self.settings, openid, self._next_id(), self.clock(), text=follow, encrypt=encrypt
                    ),
                ),
            )

    def dingtalk(self) -> None:
        staff_id = f"demo{self.rng.randint(1000, 9999)}"
        nick = self.rng.choice(SURNAMES) + self.rng.choice(["会计", "经理", "办税员"])
        self._send(
            "dingtalk",
            dingtalk_post(
                self.settings, staff_id, nick, f"msg{uuid.uuid4().hex[:16]}==", self.clock(), self.question()
            ),
        )

    def phone(self) -> None:
        caller = "1" + self.rng.choice("3578") + "".join(self.rng.choices("0123456789", k=9))
        call_id = f"12366-{int(self.clock())}-{self.rng.randint(0, 9999):04d}"
        start = self.clock()
        for delay, event in call_events(call_id, caller, start, self.rng):
            # Each event is signed when it is sent, as the phone system would.
            self._later(delay, functools.partial(self._send_call_event, event))

    def _send_call_event(self, event: dict[str, Any]) -> None:
        self._send("phone", cti_post(self.settings, event, self.clock()))

    def web(self) -> None:
        # A visitor: a browser of its own (cookies), the chat page for the CSRF token, then a message.
        if len(self._web) < 20 or (len(self._web) < 50 and self.rng.random() < 0.5):
            client = httpx.Client(base_url=self.base_url, timeout=15)
            try:
                page = client.get("/help/chat")
            except httpx.HTTPError:
                self.tally.count("web", False)
                return
            match = re.search(r'"X-CSRF-Token":\s*"([^"]+)"', page.text)
            if page.status_code != 200 or match is None:
                self.tally.count("web", False)
                return
            self._web.append((client, match.group(1)))
        client, token = self.rng.choice(self._web)
        try:
            response = client.post(
                f"{BASE}/web/messages",
                json={"text": self.question(), "key": uuid.uuid4().hex},
                headers={"X-CSRF-Token": token},
            )
            self.tally.count("web", response.status_code == 200)
        except httpx.HTTPError:
            self.tally.count("web", False)

    def one_contact(self) -> None:
        actions: dict[str, Callable[[], None]] = {
            "wechat": self.wechat,
            "phone": self.phone,
            "web": self.web,
            "dingtalk": self.dingtalk,
        }
        names = [name for name, _ in CHANNEL_WEIGHTS]
        channel = self.rng.choices(names, [weight for _, weight in CHANNEL_WEIGHTS])[0]
        actions[channel]()

    def run(
        self,
        minutes: float,
        stop: threading.Event | None = None,
        on_tick: Callable[[Tally], None] | None = None,
    ) -> Tally:
        stop = stop or threading.Event()
        end = time.monotonic() + minutes * 60
        per_second = self.rate / 60
        while not stop.is_set() and time.monotonic() < end:
            self.one_contact()
            if on_tick is not None:
                on_tick(self.tally)
            stop.wait(self.rng.expovariate(per_second) if per_second > 0 else 60)
        for timer in self._timers:
            timer.cancel()
        return self.tally
