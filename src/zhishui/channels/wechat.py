"""WeChat Official Account (微信公众号) callbacks: the server check, plain and safe (AES) mode.

wechatpy is used for one thing, the safe-mode AES envelope, and only here. Signatures are computed
and compared by us because wechatpy compares with ``!=`` (not constant time) and has no timestamp
window or replay cache. XML is parsed by us too: wechatpy hands bodies to ``xmltodict.parse``, whose
default (``disable_entities=True``) does refuse entity declarations, but we would rather not depend
on a transitive library's default for something this sharp, so :func:`_parse_xml` drives expat
itself and refuses any DOCTYPE at all — no DTD means no entities, internal or external, so neither
"billion laughs" expansion nor file/URL inclusion can happen. WeChat never sends a DOCTYPE.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from xml.parsers import expat

from wechatpy.crypto import PrpCrypto
from wechatpy.exceptions import InvalidAppIdException

from zhishui.channels.webhooks import (
    DEFAULT_MAX_BODY,
    DEFAULT_WINDOW,
    InboundMessage,
    MalformedCallback,
    MessageKind,
    Outcome,
    ReplayCache,
    check_size,
    check_window,
    dedupe,
    parse_epoch,
    replay_ttl,
    require_signature,
)
from zhishui.kit.clock import Clock
from zhishui.kit.errors import PermissionDenied

log = logging.getLogger(__name__)

CHANNEL = "wechat"
# What WeChat wants back at once; the real answer goes later through the customer-service API.
ACKNOWLEDGE = "success"

_KINDS = {"text": MessageKind.TEXT, "image": MessageKind.IMAGE, "voice": MessageKind.VOICE}
_MAX_DEPTH = 4


class WeChatMode(StrEnum):
    PLAIN = "plain"  # 明文模式
    COMPATIBLE = "compatible"  # 兼容模式: both plain and encrypted posts arrive
    SAFE = "safe"  # 安全模式: encrypted only


class WrongAppId(PermissionDenied):
    code = "wrong_app_id"

    def __init__(self) -> None:
        super().__init__("消息不是发给本公众号的", extra={"channel": CHANNEL})


@dataclass(frozen=True, slots=True)
class WeChatConfig:
    token: str
    app_id: str
    mode: WeChatMode = WeChatMode.PLAIN
    encoding_aes_key: str | None = None

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("WeChat token is empty")
        if self.mode is not WeChatMode.PLAIN:
            aes_key(self.encoding_aes_key)


def aes_key(encoding_aes_key: str | None) -> bytes:
    """The 43-character EncodingAESKey from the WeChat console as the 32-byte AES key."""
    if encoding_aes_key is None or len(encoding_aes_key) != 43:
        raise ValueError("EncodingAESKey must be the 43 characters shown in the WeChat console")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise ValueError("EncodingAESKey does not decode to 32 bytes")
    return key


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and joined without separator, hex."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class _Refused(Exception):
    pass


def _parse_xml(body: bytes) -> dict[str, str]:
    """The children of ``<xml>`` as a flat dict; nested ones as ``Parent.Child``."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    fields: dict[str, str] = {}
    path: list[str] = []
    text: list[str] = []

    def refuse(*_args: Any) -> None:
        raise _Refused("DOCTYPE and entity declarations are not accepted")

    def start(name: str, _attrs: dict[str, str]) -> None:
        if not path and name != "xml":
            raise _Refused(f"root element is <{name}>, not <xml>")
        path.append(name)
        if len(path) > _MAX_DEPTH:
            raise _Refused("nested too deeply")
        text.clear()

    def end(name: str) -> None:
        if len(path) >= 2:
            fields.setdefault(".".join(path[1:]), "".join(text).strip())
        path.pop()
        text.clear()

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    try:
        parser.Parse(body, True)
    except _Refused as exc:
        raise MalformedCallback(CHANNEL, str(exc)) from None
    except expat.ExpatError as exc:
        raise MalformedCallback(CHANNEL, f"not well-formed XML ({expat.ErrorString(exc.code)})") from None
    return fields


def _required(fields: dict[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise MalformedCallback(CHANNEL, f"{name} missing")
    return value


def parse_message(fields: dict[str, str]) -> InboundMessage:
    """A decoded WeChat message or event as an :class:`InboundMessage`."""
    sender = _required(fields, "FromUserName")
    created = parse_epoch(CHANNEL, fields.get("CreateTime"))
    msg_type = _required(fields, "MsgType").lower()
    if msg_type == "event":
        event = _required(fields, "Event")
        # Events carry no MsgId. WeChat's advice is FromUserName + CreateTime; the event name is
        # added because one tap can send two events in the same second (subscribe and SCAN).
        return InboundMessage(
            channel=CHANNEL,
            sender_id=sender,
            msg_id=f"{sender}:{fields['CreateTime']}:{event}",
            kind=MessageKind.EVENT,
            text=None,
            media_id=None,
            at=created,
            raw=fields,
            event=event,
        )
    msg_id = _required(fields, "MsgId")
    if not msg_id.isdigit():
        raise MalformedCallback(CHANNEL, "MsgId is not a number")
    kind = _KINDS.get(msg_type, MessageKind.OTHER)
    if kind is MessageKind.TEXT:
        text: str | None = fields.get("Content", "")
    elif kind is MessageKind.VOICE:
        # Present only when speech recognition is switched on for the account.
        text = fields.get("Recognition") or None
    else:
        text = None
    media_id = fields.get("MediaId") or None
    if kind in (MessageKind.IMAGE, MessageKind.VOICE) and media_id is None:
        raise MalformedCallback(CHANNEL, "MediaId missing")
    return InboundMessage(
        channel=CHANNEL,
        sender_id=sender,
        msg_id=msg_id,
        kind=kind,
        text=text,
        media_id=media_id,
        at=created,
        raw=fields,
    )


class WeChatCallbacks:
    """Everything between WeChat's HTTP request and a message the inbox can take."""

    def __init__(
        self,
        config: WeChatConfig,
        *,
        clock: Clock,
        replay: ReplayCache,
        window: dt.timedelta = DEFAULT_WINDOW,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.config = config
        self._clock = clock
        self._replay = replay
        self._window = window
        self._max_body = max_body
        self._crypto = (
            None if config.mode is WeChatMode.PLAIN else PrpCrypto(aes_key(config.encoding_aes_key))
        )

    def _check_query(self, *, signature: str | None, timestamp: str | None, nonce: str | None) -> None:
        if nonce is None:
            raise MalformedCallback(CHANNEL, "nonce missing")
        sent_at = parse_epoch(CHANNEL, timestamp)
        assert timestamp is not None
        require_signature(CHANNEL, sign(self.config.token, timestamp, nonce), signature)
        check_window(CHANNEL, sent_at, self._clock, self._window)

    def server_check(
        self, *, signature: str | None, timestamp: str | None, nonce: str | None, echostr: str | None
    ) -> str:
        """The GET WeChat sends when the callback URL is saved: echo ``echostr`` if it is WeChat."""
        self._check_query(signature=signature, timestamp=timestamp, nonce=nonce)
        if not echostr:
            raise MalformedCallback(CHANNEL, "echostr missing")
        return echostr

    def receive(
        self,
        body: bytes,
        *,
        signature: str | None,
        timestamp: str | None,
        nonce: str | None,
        encrypt_type: str | None = None,
        msg_signature: str | None = None,
    ) -> Outcome[InboundMessage]:
        """A POSTed message: verified, decrypted if encrypted, parsed, and checked for replay.

        Whatever the disposition, answer WeChat :data:`ACKNOWLEDGE` (or an encrypted passive reply).
        """
        check_size(CHANNEL, body, self._max_body)
        encrypted = (encrypt_type or "raw").lower() == "aes"
        if encrypted and self._crypto is None:
            raise MalformedCallback(CHANNEL, "encrypted message but the account is set to plain mode")
        if not encrypted and self.config.mode is WeChatMode.SAFE:
            # In safe mode a plain post can only be forged: the plain signature does not cover the
            # body, so accepting one would undo what safe mode is for.
            log.warning("plain-mode post refused: the account is in safe mode")
            raise PermissionDenied("本公众号只接受加密消息", code="plain_refused")

        if encrypted:
            fields = self._decrypt(body, timestamp=timestamp, nonce=nonce, msg_signature=msg_signature)
            keys: tuple[str, ...] = ()
        else:
            self._check_query(signature=signature, timestamp=timestamp, nonce=nonce)
            fields = _parse_xml(body)
            # The plain signature covers only token, timestamp and nonce, not the body: anyone who
            # saw one signed URL could post other bodies under it within the window. Letting each
            # signed URL through once closes that.
            keys = (f"wechat:{self.config.app_id}:nonce:{timestamp}:{nonce}:{signature}",)
        message = parse_message(fields)
        keys = (f"wechat:{self.config.app_id}:msg:{message.msg_id}", *keys)
        return dedupe(self._replay, keys, replay_ttl(self._window), message, channel=CHANNEL)

    def _decrypt(
        self, body: bytes, *, timestamp: str | None, nonce: str | None, msg_signature: str | None
    ) -> dict[str, str]:
        assert self._crypto is not None
        outer = _parse_xml(body)
        encrypted = _required(outer, "Encrypt")
        if nonce is None:
            raise MalformedCallback(CHANNEL, "nonce missing")
        sent_at = parse_epoch(CHANNEL, timestamp)
        assert timestamp is not None
        # msg_signature covers the ciphertext, so in safe mode the body itself is signed.
        require_signature(CHANNEL, sign(self.config.token, timestamp, nonce, encrypted), msg_signature)
        check_window(CHANNEL, sent_at, self._clock, self._window)
        try:
            blocks = base64.b64decode(encrypted, validate=True)
        except binascii.Error:
            blocks = b""
        # 16 random bytes + 4 length bytes + at least an AppID, padded to whole AES blocks.
        if len(blocks) < 32 or len(blocks) % 16:
            raise MalformedCallback(CHANNEL, "cannot decrypt (not whole AES blocks)")
        try:
            plain: str = self._crypto.decrypt(encrypted, self.config.app_id)
        except InvalidAppIdException:
            log.warning("encrypted message for another AppID")
            raise WrongAppId() from None
        except Exception as exc:
            # wechatpy checks neither the base64, the block size, the padding nor the length
            # field; garbage surfaces as whatever the step that choked raised.
            raise MalformedCallback(CHANNEL, f"cannot decrypt ({type(exc).__name__})") from None
        return _parse_xml(plain.encode())

    def encrypt_reply(self, xml: str, *, nonce: str) -> str:
        """A passive reply in safe mode: the envelope WeChat expects, signed with our token."""
        if self._crypto is None:
            raise ValueError("the account is in plain mode; passive replies go out as they are")
        timestamp = str(int(self._clock.now().timestamp()))
        encrypted = self._crypto.encrypt(xml, self.config.app_id).decode()
        signature = sign(self.config.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
