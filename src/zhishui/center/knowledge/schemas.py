"""What the knowledge API takes and returns."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from zhishui.center.knowledge import policy

HitKind = Literal["catalog", "guide", "qa"]
Channel = Literal["staff", "wechat", "dingtalk", "phone", "web"]


class KnowledgeHit(BaseModel):
    kind: HitKind = Field(description="catalog：事项清单中的办税指南；guide：本局办税指南；qa：问答")
    id: int | None = Field(description="知识条目编号（事项指南为空）")
    title: str
    snippet: str = Field(description="与问题最相关的一段文字")
    answer: str = Field(description="可直接插入回复的完整答案")
    matter_code: str | None
    score: float


class ArticleIn(BaseModel):
    kind: policy.ArticleKind = policy.ArticleKind.QA
    title: str = Field(min_length=1, max_length=policy.MAX_TITLE, description="标题或问题")
    body: str = Field(min_length=1, max_length=policy.MAX_BODY, description="正文或答案")
    matter_code: str | None = Field(default=None, max_length=32, description="办税指南对应的事项编码")
    tags: list[str] = Field(default_factory=list, max_length=20)
    status: Literal["published", "draft"] = "published"


class ArticlePatch(BaseModel):
    revision: int | None = Field(default=None, ge=1, description="读取时的版本号；不一致时返回 409")
    kind: policy.ArticleKind | None = None
    title: str | None = Field(default=None, min_length=1, max_length=policy.MAX_TITLE)
    body: str | None = Field(default=None, min_length=1, max_length=policy.MAX_BODY)
    matter_code: str | None = Field(default=None, max_length=32, description="空字符串表示取消关联事项")
    tags: list[str] | None = Field(default=None, max_length=20)
    status: policy.ArticleStatus | None = None


class ArticleOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    matter_code: str | None
    source: str
    tags: list[str]
    status: str
    revision: int
    helpful: int
    unhelpful: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ArticlePage(BaseModel):
    items: list[ArticleOut]
    total: int
    page: int
    size: int


class FeedbackIn(BaseModel):
    helpful: bool
    comment: str = Field(default="", max_length=policy.MAX_COMMENT)
    channel: Channel = Field(default="staff", description="staff：坐席评价；其他：纳税人在该渠道的评价")


class FeedbackOut(BaseModel):
    article_id: int
    helpful: int
    unhelpful: int


class SkippedOut(BaseModel):
    line: int
    reason: str


class ImportOut(BaseModel):
    source: str
    encoding: str
    imported: int
    updated: int
    unchanged: int
    skipped: list[SkippedOut]
    summary: str


class ReplyIn(BaseModel):
    title: str = Field(min_length=1, max_length=policy.MAX_REPLY_TITLE)
    body: str = Field(min_length=1, max_length=policy.MAX_REPLY_BODY, description="可含占位符，如 {name}")
    category: str = Field(default="", max_length=policy.MAX_CATEGORY)


class ReplyPatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=policy.MAX_REPLY_TITLE)
    body: str | None = Field(default=None, min_length=1, max_length=policy.MAX_REPLY_BODY)
    category: str | None = Field(default=None, max_length=policy.MAX_CATEGORY)


class ReplyOut(BaseModel):
    id: int
    title: str
    body: str
    category: str
    placeholders: list[str]
    usage_count: int
    updated_at: dt.datetime


class ReplyUseIn(BaseModel):
    values: dict[str, str] = Field(
        default_factory=dict, max_length=20, description='占位符的取值，如 {"name": "张三"}'
    )


class ReplyUseOut(BaseModel):
    id: int
    text: str
    missing: list[str] = Field(description="没有取值、原样保留的占位符")
    usage_count: int
