"""Pre-review through HTTP on SQLite and PostgreSQL: a taxpayer signed in by phone uploads materials
for their own booking; reviewers work the queue; files go out only through permission-checked routes;
refused uploads leave no row and no file; body limits answer 413 in Chinese."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.booking_factories import (
    NOW,
    OTHER_PHONE,
    PHONE,
    add_booking,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    prereview_world,
    zip_bytes,
)
from tests.conftest import TEST_SECRET
from tests.e2e.helpers import csrf_from, login
from tests.factories import PASSWORD
from zhishui.app import create_app
from zhishui.booking.models import PreReview, PreReviewFile
from zhishui.config import Settings
from zhishui.kit.clock import FrozenClock
from zhishui.notify.providers import LogProvider

MAX_FILE = 64 * 1024
MAX_FILES = 3


@dataclass
class Site:
    app: FastAPI
    sms: LogProvider
    uploads: Path
    tokens: dict[str, str]  # mine, other (someone else's), cancelled
    reviewer_a: str
    reviewer_a2: str
    reviewer_b: str
    clerk_a: str

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)

    def taxpayer(self, phone: str = PHONE) -> TestClient:
        """A client signed in by a code texted to `phone` (through the outbox, as in production)."""
        c = self.client()
        token = csrf_from(c, "/my/login")
        assert c.post("/my/login/code", data={"csrf_token": token, "phone": phone}).status_code == 200
        self.app.state.worker.run_once()
        note = self.sms.last_to(phone)
        assert note is not None
        code = re.search(r"验证码为(\d{6})", note.text)
        assert code
        token = csrf_from(c, "/my/login")
        verified = c.post(
            "/my/login/verify", data={"csrf_token": token, "phone": phone, "code": code.group(1)}
        )
        assert verified.status_code == 303
        c.headers["X-CSRF-Token"] = csrf_from(c, "/my/login")
        return c

    def staff(self, username: str) -> TestClient:
        c = self.client()
        assert login(c, username, PASSWORD).status_code == 303
        c.headers["X-CSRF-Token"] = csrf_from(c, "/")
        return c

    def count(self, model: Any) -> int:
        with self.app.state.session_factory() as s:
            return int(s.execute(select(func.count()).select_from(model)).scalar_one())

    def stored(self) -> list[Path]:
        return [p for p in self.uploads.rglob("*") if p.is_file()] if self.uploads.exists() else []

    def pre_review_id(self) -> int:
        with self.app.state.session_factory() as s:
            return int(s.execute(select(PreReview.id)).scalar_one())

    def delivered_to(self, phone: str) -> list[str]:
        self.app.state.worker.run_once()
        return [n.text for n in self.sms.sent if n.to == phone and "验证码" not in n.text]


@contextmanager
def running_site(db_url: str, tmp_path: Path, **overrides: Any) -> Iterator[Site]:
    sms = LogProvider()
    settings = Settings(
        env="test",
        database_url=db_url,
        secret_key=TEST_SECRET,
        run_worker=False,
        upload_dir=tmp_path / "uploads",
        upload_max_file_bytes=MAX_FILE,
        upload_max_files=MAX_FILES,
        **overrides,
    )
    app = create_app(settings, clock=FrozenClock(NOW), providers={"sms": sms, "wechat": sms, "dingtalk": sms})
    with TestClient(app):
        with app.state.session_factory() as s, s.begin():
            world = prereview_world(s)
            tokens = {
                "mine": add_booking(s, world.hall_a, world.queue_a).token,
                "other": add_booking(s, world.hall_a, world.queue_a, phone=OTHER_PHONE).token,
            }
        yield Site(
            app,
            sms,
            tmp_path / "uploads",
            tokens,
            world.reviewer_a,
            world.reviewer_a2,
            world.reviewer_b,
            world.clerk_a,
        )


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    with running_site(db_url, tmp_path) as s:
        yield s


def _files(*items: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    # The browser's claimed type is deliberately wrong: only the bytes count.
    return [("files", (name, data, "application/octet-stream")) for name, data in items]


def _upload(c: TestClient, token: str, *items: tuple[str, bytes]) -> Any:
    return c.post(f"/booking/{token}/materials", files=_files(*items))


# --- the taxpayer --------------------------------------------------------------------------------------


def test_a_taxpayer_uploads_a_pdf_a_png_and_a_jpeg_and_submits(site: Site) -> None:
    c = site.taxpayer()
    token = site.tokens["mine"]
    page = c.get(f"/booking/{token}/materials")
    assert page.status_code == 200
    assert "预审材料" in page.text and "存量房交易税费申报" in page.text and "房屋买卖合同" in page.text
    assert 'enctype="multipart/form-data"' in page.text and "提交预审" in page.text

    done = _upload(
        c, token, ("合同.pdf", pdf_bytes()), ("身份证.png", png_bytes()), ("房产证.jpg", jpeg_bytes())
    )
    assert done.status_code == 303 and done.headers["location"] == f"/booking/{token}/materials?done=1"
    after = c.get(done.headers["location"])
    assert "预审材料已提交" in after.text and "待审核" in after.text
    for name in ("合同.pdf", "身份证.png", "房产证.jpg"):
        assert name in after.text
    assert "提交预审" not in after.text  # nothing more while under review
    assert (site.count(PreReview), site.count(PreReviewFile), len(site.stored())) == (1, 3, 3)

    ids = [int(i) for i in re.findall(rf"/booking/{token}/materials/files/(\d+)", after.text)]
    pdf = c.get(f"/booking/{token}/materials/files/{ids[0]}")
    assert pdf.status_code == 200 and pdf.content == pdf_bytes()
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert pdf.headers["x-content-type-options"] == "nosniff"
    png = c.get(f"/booking/{token}/materials/files/{ids[1]}?inline=1")
    assert png.headers["content-type"] == "image/png" and png.headers["content-disposition"].startswith(
        "inline;"
    )


@pytest.mark.parametrize(
    ("items", "status", "words"),
    [
        ([("合同.pdf", pdf_bytes()), ("申请表.pdf", zip_bytes())], 415, "文件类型不符"),
        ([("大.pdf", b"%PDF-" + b"x" * MAX_FILE)], 413, "每个文件不超过 64 KB"),
        ([(f"{i}.pdf", pdf_bytes()) for i in range(MAX_FILES + 1)], 422, "最多上传 3 个文件"),
    ],
    ids=["renamed zip", "oversized", "too many"],
)
def test_a_refused_upload_says_why_in_chinese_and_leaves_no_row_and_no_file(
    site: Site, items: list[tuple[str, bytes]], status: int, words: str
) -> None:
    c = site.taxpayer()
    refused = _upload(c, site.tokens["mine"], *items)
    assert refused.status_code == status
    assert words in html.unescape(refused.text)
    assert 'role="alert"' in refused.text and "提交预审" in refused.text  # the form again, to retry
    assert (site.count(PreReview), site.count(PreReviewFile), site.stored()) == (0, 0, [])


def test_submitting_with_no_file_chosen_asks_for_one(site: Site) -> None:
    c = site.taxpayer()
    # What a browser sends for a file input left empty: one part with an empty file name.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n"
    )
    refused = c.post(
        f"/booking/{site.tokens['mine']}/materials",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert refused.status_code == 422 and "请选择要上传的文件" in refused.text
    assert site.count(PreReview) == 0


def test_a_body_over_the_upload_limit_is_refused_up_front_with_the_limits(site: Site) -> None:
    c = site.taxpayer()
    huge = ("扫描.pdf", b"%PDF-" + b"x" * (MAX_FILE * MAX_FILES + 300 * 1024))
    page = _upload(c, site.tokens["mine"], huge)
    assert page.status_code == 413
    assert "上传的文件过大：每个文件不超过 64 KB，每次预约最多 3 个文件" in page.text
    assert page.headers["content-type"].startswith("text/html")
    api = c.post(f"/api/v1/booking/pre-reviews/by-booking/{site.tokens['mine']}/files", files=_files(huge))
    assert api.status_code == 413 and api.json()["error"] == "too_large"
    assert "每个文件不超过 64 KB" in api.json()["message"]
    assert (site.count(PreReview), site.stored()) == (0, [])


def test_uploads_larger_than_the_apps_general_body_limit_pass_on_upload_routes_only(
    sqlite_url: str, tmp_path: Path
) -> None:
    general = 100_000  # below the three files together: they pass only because the route raised it
    with running_site(sqlite_url, tmp_path, max_body_bytes=general) as site:
        c = site.taxpayer()
        items = [(f"{i}.pdf", b"%PDF-" + b"x" * (MAX_FILE - 10)) for i in range(MAX_FILES)]
        assert _upload(c, site.tokens["mine"], *items).status_code == 303
        assert site.count(PreReviewFile) == MAX_FILES
        # any other route keeps the general limit
        reviewer = site.staff(site.reviewer_a)
        big = reviewer.post(f"/booking/reviews/{site.pre_review_id()}/return", data={"reason": "x" * general})
        assert big.status_code == 413


def test_someone_elses_booking_is_not_found_and_takes_nothing(site: Site) -> None:
    c = site.taxpayer()
    other = site.tokens["other"]
    assert c.get(f"/booking/{other}/materials").status_code == 404
    assert _upload(c, other, ("合同.pdf", pdf_bytes())).status_code == 404
    assert c.get(f"/booking/{other}/materials/files/1").status_code == 404
    assert c.get(f"/api/v1/booking/pre-reviews/by-booking/{other}").status_code == 404
    assert (site.count(PreReview), site.stored()) == (0, [])
    # and the owner's file is not reachable through another booking's token
    owner = site.taxpayer(OTHER_PHONE)
    assert _upload(owner, other, ("合同.pdf", pdf_bytes())).status_code == 303
    with site.app.state.session_factory() as s:
        file_id = s.execute(select(PreReviewFile.id)).scalar_one()
    assert c.get(f"/booking/{site.tokens['mine']}/materials/files/{file_id}").status_code == 404


def test_a_signed_out_browser_is_sent_to_the_phone_sign_in(site: Site) -> None:
    c = site.client()
    response = c.get(f"/booking/{site.tokens['mine']}/materials")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/my/login?next=/booking/")


# --- reviewers -----------------------------------------------------------------------------------------


def _submitted(site: Site) -> TestClient:
    c = site.taxpayer()
    assert (
        _upload(c, site.tokens["mine"], ("合同.pdf", pdf_bytes()), ("照片.png", png_bytes())).status_code
        == 303
    )
    return c


def test_a_reviewer_opens_the_queue_views_the_files_and_approves(site: Site) -> None:
    taxpayer = _submitted(site)
    reviewer = site.staff(site.reviewer_a)
    home = reviewer.get("/")
    assert 'href="/booking/reviews"' in home.text and "材料预审" in home.text
    queue = reviewer.get("/booking/reviews")
    assert queue.status_code == 200 and "存量房交易税费申报" in queue.text and "待审核（1）" in queue.text
    assert PHONE not in queue.text and "138****8000" in queue.text  # masked for a triage role
    pre_id = site.pre_review_id()
    detail = reviewer.get(f"/booking/reviews/{pre_id}")
    assert "合同.pdf" in detail.text and "照片.png" in detail.text and "房屋买卖合同" in detail.text
    file_ids = sorted({int(i) for i in re.findall(rf"/booking/reviews/{pre_id}/files/(\d+)", detail.text)})
    pdf = reviewer.get(f"/booking/reviews/{pre_id}/files/{file_ids[0]}?inline=1")
    assert pdf.content == pdf_bytes() and pdf.headers["content-disposition"].startswith("attachment;")
    image = reviewer.get(f"/booking/reviews/{pre_id}/files/{file_ids[1]}?inline=1")
    assert image.content == png_bytes() and image.headers["content-disposition"].startswith("inline;")
    assert image.headers["x-content-type-options"] == "nosniff"

    seen = re.search(r'name="seen" value="([^"]+)"', detail.text)
    assert seen
    approved = reviewer.post(
        f"/booking/reviews/{pre_id}/approve", data={"seen": html.unescape(seen.group(1))}
    )
    assert approved.status_code == 303
    assert "已通过预审" in reviewer.get(approved.headers["location"]).text
    [text] = site.delivered_to(PHONE)
    assert "预审已通过" in text
    assert "预审通过" in taxpayer.get(f"/booking/{site.tokens['mine']}/materials").text


def test_two_reviewers_acting_at_once_one_wins_the_other_gets_409(site: Site) -> None:
    _submitted(site)
    pre_id = site.pre_review_id()
    first, second = site.staff(site.reviewer_a), site.staff(site.reviewer_a2)
    second.get(f"/booking/reviews/{pre_id}")  # both have the page open
    assert first.post(f"/booking/reviews/{pre_id}/approve").status_code == 303
    late = second.post(f"/booking/reviews/{pre_id}/return", data={"reason": "合同缺页"})
    assert late.status_code == 409
    assert "当前状态：预审通过" in late.text
    assert len(site.delivered_to(PHONE)) == 1


def test_returning_with_a_reason_texts_it_and_the_taxpayer_uploads_again(site: Site) -> None:
    taxpayer = _submitted(site)
    pre_id = site.pre_review_id()
    reviewer = site.staff(site.reviewer_a)
    no_reason = reviewer.post(f"/booking/reviews/{pre_id}/request_more", data={"reason": ""})
    assert no_reason.status_code == 422 and "请填写需要补充的材料" in no_reason.text
    asked = reviewer.post(f"/booking/reviews/{pre_id}/request_more", data={"reason": "请补充身份证背面"})
    assert asked.status_code == 303
    [text] = site.delivered_to(PHONE)
    assert "请补充身份证背面" in text and f"/booking/{site.tokens['mine']}/materials" in text

    page = taxpayer.get(f"/booking/{site.tokens['mine']}/materials")
    assert "需补充材料" in page.text and "请补充身份证背面" in page.text and "提交预审" in page.text
    assert "还可上传 1 个" in page.text
    assert _upload(taxpayer, site.tokens["mine"], ("背面.jpg", jpeg_bytes())).status_code == 303
    assert "待审核（1）" in reviewer.get("/booking/reviews").text
    assert site.count(PreReviewFile) == 3


def test_files_go_out_only_to_reviewers_of_the_hall(site: Site) -> None:
    _submitted(site)
    pre_id = site.pre_review_id()
    with site.app.state.session_factory() as s:
        file_id = s.execute(select(PreReviewFile.id).limit(1)).scalar_one()
    url = f"/booking/reviews/{pre_id}/files/{file_id}"
    assert site.client().get(url).status_code == 303  # signed out: to the sign-in
    assert site.staff(site.clerk_a).get(url).status_code == 403  # no booking.review
    other_county = site.staff(site.reviewer_b)
    assert other_county.get(url).status_code == 404
    assert other_county.get(f"/booking/reviews/{pre_id}").status_code == 404
    assert "待审核（0）" in other_county.get("/booking/reviews").text
    assert site.staff(site.reviewer_a).get(url).status_code == 200
    # and nothing under /static reaches the upload folder
    name = site.stored()[0].name
    assert site.client().get(f"/static/{name}").status_code == 404
    assert site.client().get(f"/static/../uploads/{name[:2]}/{name[2:4]}/{name}").status_code == 404


# --- the JSON API --------------------------------------------------------------------------------------


def test_the_api_takes_materials_and_decisions_with_the_same_rules(site: Site) -> None:
    c = site.taxpayer()
    base = f"/api/v1/booking/pre-reviews/by-booking/{site.tokens['mine']}"
    before = c.get(base).json()
    assert before["pre_review"] is None and before["can_submit"] is True
    wrong = c.post(f"{base}/files", files=_files(("a.pdf", zip_bytes())))
    assert wrong.status_code == 415 and wrong.json()["message"].startswith("文件类型不符")
    made = c.post(f"{base}/files", files=_files(("a.pdf", pdf_bytes())))
    assert made.status_code == 201
    body = made.json()
    assert body["pre_review"]["status"] == "submitted" and body["can_submit"] is False
    [f] = body["pre_review"]["files"]
    assert (f["name"], f["content_type"], f["size_bytes"]) == ("a.pdf", "application/pdf", len(pdf_bytes()))

    reviewer = site.staff(site.reviewer_a)
    [listed] = reviewer.get("/api/v1/booking/pre-reviews").json()
    assert listed["file_count"] == 1 and listed["booking"]["phone"] == "138****8000"
    act = f"/api/v1/booking/pre-reviews/{listed['id']}"
    stale = reviewer.post(f"{act}/approve", json={"seen_submitted_at": "2026-01-01T00:00:00+08:00"})
    assert stale.status_code == 409
    done = reviewer.post(f"{act}/return", json={"reason": "看不清"})
    assert done.status_code == 200 and done.json()["status"] == "returned"
    again = reviewer.post(f"{act}/approve", json={})
    assert again.status_code == 409 and "当前状态：已退回" in again.json()["message"]
    assert site.staff(site.reviewer_b).get(act).status_code == 404
