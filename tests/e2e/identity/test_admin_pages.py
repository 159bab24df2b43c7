"""Administrators manage staff within their own county, edit the permission table and read the log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.helpers import csrf_from, login
from tests.e2e.identity.conftest import Bureau
from tests.factories import PASSWORD
from zhishui.audit.models import AuditEntry
from zhishui.identity.models import RolePermission, Staff, StaffRole
from zhishui.kit.db import create_db_engine, make_session_factory
from zhishui.kit.masking import mask_name
from zhishui.notify.providers import LogProvider


@pytest.fixture
def db(bureau: Bureau) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(bureau.db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def admin(app_client: tuple[TestClient, LogProvider]) -> TestClient:
    client, _ = app_client
    assert login(client, "admin_a", PASSWORD).status_code == 303
    return client


def _roles(db: sessionmaker[Session], staff_id: int) -> set[str]:
    with db() as s:
        return set(s.execute(select(StaffRole.role).where(StaffRole.staff_id == staff_id)).scalars())


def _new_staff_form(client: TestClient, bureau: Bureau, **overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf_token": csrf_from(client, "/admin/staff/new"),
        "username": "zhang.wei",
        "display_name": "张伟",
        "phone": "13800138000",
        "org_unit_id": str(bureau.tree.hall_a.id),
        "roles": ["triage", "quick_desk"],
        "active": "1",
        "password": "first-password-1",
        "confirm": "first-password-1",
    }
    form.update(overrides)
    return form


def test_an_admin_creates_staff_and_changes_their_roles(
    admin: TestClient, bureau: Bureau, db: sessionmaker[Session]
) -> None:
    created = admin.post("/admin/staff/new", data=_new_staff_form(admin, bureau))
    assert created.status_code == 303
    staff_id = int(created.headers["location"].split("/")[3].split("?")[0])
    page = admin.get(created.headers["location"])
    assert page.status_code == 200 and "已新增人员账号" in page.text and "张伟" in page.text
    assert _roles(db, staff_id) == {"triage", "quick_desk"}

    token = csrf_from(admin, f"/admin/staff/{staff_id}")
    edited = admin.post(
        f"/admin/staff/{staff_id}",
        data={
            "csrf_token": token,
            "display_name": "张伟",
            "phone": "0571-88880000",
            "org_unit_id": str(bureau.tree.county_a.id),
            "roles": ["center_agent"],
            "active": "1",
        },
    )
    assert edited.status_code == 303
    assert _roles(db, staff_id) == {"center_agent"}
    with db() as s:
        changes = s.execute(
            select(AuditEntry.action, AuditEntry.entity_id, AuditEntry.actor, AuditEntry.detail).where(
                AuditEntry.entity == "staff_role", AuditEntry.actor == f"staff:{bureau.admin_a}"
            )
        ).all()
    assert ("delete", f"{staff_id}/triage") in [(a, i) for a, i, _, _ in changes]  # removals are logged too
    assert ("create", f"{staff_id}/center_agent") in [(a, i) for a, i, _, _ in changes]
    with db() as s:
        member = s.get(Staff, staff_id)
        assert member is not None and member.phone == "0571-88880000"
        assert member.org_unit_id == bureau.tree.county_a.id

    listing = admin.get("/admin/staff", params={"q": "zhang"})
    assert listing.status_code == 200 and "zhang.wei" in listing.text and "智税中心坐席" in listing.text
    # The new account can sign in with the password it was given.
    admin.cookies.clear()
    assert login(admin, "zhang.wei", "first-password-1").status_code == 303


def test_the_form_explains_what_is_wrong_in_chinese(admin: TestClient, bureau: Bureau) -> None:
    response = admin.post(
        "/admin/staff/new",
        data=_new_staff_form(admin, bureau, username="Bad Name", display_name="", phone="12345"),
    )
    assert response.status_code == 422
    assert "用户名：用户名应为 3 至 32 位" in response.text
    assert "姓名：必填" in response.text
    assert "联系电话：" in response.text
    response = admin.post(
        "/admin/staff/new", data=_new_staff_form(admin, bureau, password="12345678", confirm="12345678")
    )
    assert response.status_code == 422 and "密码不能全部是数字" in response.text
    response = admin.post("/admin/staff/new", data=_new_staff_form(admin, bureau, username="clerk_a"))
    assert response.status_code == 422 and "已被使用" in response.text
    response = admin.post(
        "/admin/staff/new", data=_new_staff_form(admin, bureau, org_unit_id=str(bureau.tree.hall_b.id))
    )
    assert response.status_code == 422 and "不在您的管理范围内" in response.text


def test_staff_of_another_county_are_invisible(admin: TestClient, bureau: Bureau) -> None:
    listing = admin.get("/admin/staff")
    assert "admin_a" in listing.text and "clerk_a" in listing.text and "admin_b" not in listing.text
    assert admin.get(f"/admin/staff/{bureau.admin_b}").status_code == 404
    token = csrf_from(admin, "/admin/staff")
    response = admin.post(
        f"/admin/staff/{bureau.admin_b}",
        data={"csrf_token": token, "display_name": "x", "org_unit_id": str(bureau.tree.county_a.id)},
    )
    assert response.status_code == 404
    response = admin.post(
        f"/admin/staff/{bureau.admin_b}/password",
        data={"csrf_token": token, "password": "new-password-1", "confirm": "new-password-1"},
    )
    assert response.status_code == 404


def test_a_front_line_clerk_cannot_open_admin_pages(app_client: tuple[TestClient, LogProvider]) -> None:
    client, _ = app_client
    login(client, "clerk_a", PASSWORD)
    for path in ("/admin/staff", "/admin/staff/new", "/admin/roles", "/admin/audit"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "您没有执行此操作的权限" in response.text


def test_resetting_a_password_ends_the_accounts_sessions(
    app_client: tuple[TestClient, LogProvider], bureau: Bureau
) -> None:
    client, _ = app_client
    login(client, "clerk_a", PASSWORD)
    clerk_cookie = client.cookies.get("zs_session")
    client.cookies.clear()
    login(client, "admin_a", PASSWORD)
    token = csrf_from(client, f"/admin/staff/{bureau.clerk_a}")
    short = client.post(
        f"/admin/staff/{bureau.clerk_a}/password",
        data={"csrf_token": token, "password": "short", "confirm": "short"},
    )
    assert short.status_code == 422 and "密码至少需要 8 个字符" in short.text
    done = client.post(
        f"/admin/staff/{bureau.clerk_a}/password",
        data={"csrf_token": token, "password": "new-password-1", "confirm": "new-password-1"},
    )
    assert done.status_code == 303
    client.cookies.clear()
    client.cookies.set("zs_session", clerk_cookie or "")
    assert client.get("/").status_code == 303  # signed out
    client.cookies.clear()
    assert login(client, "clerk_a", "new-password-1").status_code == 303


def test_an_admin_cannot_lock_themself_out(admin: TestClient, bureau: Bureau) -> None:
    token = csrf_from(admin, f"/admin/staff/{bureau.admin_a}")
    response = admin.post(
        f"/admin/staff/{bureau.admin_a}",
        data={
            "csrf_token": token,
            "display_name": "测试admin_a",
            "org_unit_id": str(bureau.tree.county_a.id),
            "roles": ["triage"],
        },
    )
    assert response.status_code == 422
    assert "不能停用自己的账号" in response.text and "不能取消自己的人员管理权限" in response.text


def test_the_role_matrix_is_replaced_on_save(admin: TestClient, db: sessionmaker[Session]) -> None:
    page = admin.get("/admin/roles")
    assert page.status_code == 200 and "导税员" in page.text and "查看审计日志" in page.text
    with db() as s:
        rows = {(r, p) for r, p in s.execute(select(RolePermission.role, RolePermission.permission))}
    wanted = (rows - {("triage", "org.read")}) | {("triage", "catalog.manage")}
    token = csrf_from(admin, "/admin/roles")
    saved = admin.post(
        "/admin/roles", data={"csrf_token": token, "grant": sorted(f"{r}:{p}" for r, p in wanted)}
    )
    assert saved.status_code == 303
    with db() as s:
        after = {(r, p) for r, p in s.execute(select(RolePermission.role, RolePermission.permission))}
    assert after == wanted

    refused = admin.post(
        "/admin/roles",
        data={
            "csrf_token": token,
            "grant": sorted(f"{r}:{p}" for r, p in wanted if (r, p) != ("admin", "role.manage")),
        },
    )
    assert refused.status_code == 422 and "必须保留" in refused.text


def test_the_audit_log_lists_sign_ins_with_masked_actors_and_verifies_its_chain(
    admin: TestClient, bureau: Bureau, db: sessionmaker[Session]
) -> None:
    session_cookie = admin.cookies.get("zs_session") or ""
    admin.cookies.clear()
    login(admin, "clerk_a", "wrong-password")  # county A: the county A admin sees it
    login(admin, "admin_b", "wrong-password")  # county B: they do not
    admin.cookies.set("zs_session", session_cookie)
    page = admin.get("/admin/audit")
    assert page.status_code == 200
    table = page.text.split("<table>", 1)[1]
    assert "测试admin_a" not in table
    assert f"{mask_name('测试admin_a')}（#{bureau.admin_a}）" in table
    assert table.count("登录失败") == 1 and f"staff #{bureau.clerk_a}" in table
    assert f"staff #{bureau.admin_b}" not in table
    filtered = admin.get("/admin/audit", params={"action": "login_failed"})
    assert filtered.status_code == 200 and "共 1 条" in filtered.text
    token = csrf_from(admin, "/admin/audit")
    checked = admin.post("/admin/audit/verify", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert checked.status_code == 200 and "日志链完整" in checked.text
    with db() as s, s.begin():
        s.execute(update(AuditEntry).where(AuditEntry.action == "login").values(ip="6.6.6.6"))
    broken = admin.post("/admin/audit/verify", data={"csrf_token": token})
    assert broken.status_code == 200 and "日志链在第" in broken.text and "改动" in broken.text
