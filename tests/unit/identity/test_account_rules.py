"""Passwords, usernames, phones, redirects and who may grant what: pure rules."""

from __future__ import annotations

import pytest

from zhishui.identity.policy import (
    DEFAULT_GRANTS,
    Permission,
    Role,
    actor_display,
    assignable_roles,
    code_format_problem,
    grant_problems,
    merge_roles,
    mobile_problem,
    otp_text,
    password_problems,
    safe_next,
    sees_unattributed_entries,
    staff_phone_problem,
    username_problem,
)

GRANTS = {role.value: {p.value for p in perms} for role, perms in DEFAULT_GRANTS.items()}
ALL = frozenset(p.value for p in Permission)
ROWS = {(r, p) for r, perms in GRANTS.items() for p in perms}


def test_a_password_of_eight_characters_with_a_letter_is_accepted() -> None:
    assert password_problems("abcd1234") == []


def test_a_short_password_is_refused_with_the_minimum() -> None:
    assert password_problems("abc123") == ["密码至少需要 8 个字符"]


def test_an_all_digit_password_is_refused() -> None:
    assert password_problems("1234567890") == ["密码不能全部是数字，请加入字母或符号"]


def test_a_short_all_digit_password_gets_both_reasons() -> None:
    assert len(password_problems("1234")) == 2


def test_a_password_equal_to_the_username_is_refused() -> None:
    assert password_problems("Zhang.Wei", username="zhang.wei") == ["密码不能与用户名相同"]


def test_an_overlong_password_is_refused() -> None:
    assert password_problems("a" * 129) == ["密码不能超过 128 个字符"]


@pytest.mark.parametrize("name", ["wang.fang", "a01", "li_si-2"])
def test_usernames_of_lowercase_letters_digits_and_dots_are_accepted(name: str) -> None:
    assert username_problem(name) is None


@pytest.mark.parametrize("name", ["ab", "Wang", "王芳", ".wang", "wang fang", "x" * 33])
def test_other_usernames_are_refused(name: str) -> None:
    assert username_problem(name) is not None


def test_a_taxpayer_phone_is_normalised_or_refused_naming_the_field() -> None:
    assert mobile_problem("+86 139-1234-5678") == ("13912345678", None)
    assert mobile_problem("12912345678") == ("12912345678", "手机号码：应以 13 至 19 开头")
    assert mobile_problem("")[1] == "手机号码：必填"


def test_a_staff_phone_may_be_empty_a_mobile_or_a_landline() -> None:
    assert staff_phone_problem("") is None
    assert staff_phone_problem("13912345678") is None
    assert staff_phone_problem("0571-88880000") is None
    assert staff_phone_problem("12345") is not None


def test_a_code_is_six_ascii_digits() -> None:
    assert code_format_problem("012345") is None
    for bad in ("12345", "1234567", "12a456", "１２３４５６"):
        assert code_format_problem(bad) is not None


def test_the_sms_text_names_the_code_and_its_lifetime() -> None:
    assert otp_text("123456", 300).startswith("【智税】您的登录验证码为123456，5分钟内有效。")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/staff?q=1", "/admin/staff?q=1"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_only_local_paths_are_followed_after_sign_in(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_an_admin_may_assign_every_role() -> None:
    assert assignable_roles(ALL, GRANTS) == {r.value for r in Role}


def test_a_manager_may_only_assign_roles_within_their_own_permissions() -> None:
    manager = frozenset(GRANTS["manager"])
    roles = assignable_roles(manager, GRANTS)
    assert "admin" not in roles and "triage" in roles and "manager" in roles


def test_roles_a_manager_cannot_assign_stay_as_they_were() -> None:
    assignable = frozenset({"triage", "quick_desk"})
    assert merge_roles({"admin", "triage"}, ["quick_desk", "admin"], assignable) == {"admin", "quick_desk"}


def test_the_default_table_may_be_saved_as_is() -> None:
    assert grant_problems(ROWS, ROWS, ALL) == []


def test_the_admin_role_keeps_staff_and_role_management() -> None:
    problems = grant_problems(ROWS - {("admin", "role.manage")}, ROWS, ALL)
    assert len(problems) == 1 and "管理角色权限" in problems[0]


def test_nobody_grants_a_permission_they_lack() -> None:
    own = frozenset(GRANTS["manager"]) | {Permission.ROLE_MANAGE.value}
    problems = grant_problems(ROWS | {("triage", "staff.manage")}, ROWS, own)
    assert problems == ["不能授予或收回您自己没有的权限：管理人员账号"]
    assert grant_problems(ROWS | {("triage", "audit.read")}, ROWS, own) == []


def test_unknown_roles_and_permissions_are_refused() -> None:
    assert "未知" in grant_problems(ROWS | {("wizard", "audit.read")}, ROWS, ALL)[0]


def test_actors_are_shown_masked() -> None:
    assert actor_display("staff:7", {7: "王小明"}) == "王**（#7）"
    assert actor_display("staff:8", {}) == "人员 #8"
    assert actor_display("taxpayer:139****5678", {}) == "纳税人 139****5678"
    assert actor_display("anonymous", {}) == "未登录用户"
    assert actor_display("system:cli", {}) == "系统（cli）"


def test_only_the_top_of_the_tree_sees_entries_of_no_unit() -> None:
    assert sees_unattributed_entries("/1/")
    assert not sees_unattributed_entries("/1/3/")
