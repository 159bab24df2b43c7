"""Chinese names of request fields, for error messages that say which field is wrong."""

FIELD_LABELS: dict[str, str] = {
    "tax_id": "纳税人识别号",
    "taxpayer_id": "纳税人识别号",
    "resident_id": "居民身份证号码",
    "phone": "手机号码",
    "name": "名称",
    "kind": "类型",
    "username": "用户名",
    "password": "密码",
    "display_name": "姓名",
    "code": "编码",
    "q": "查询内容",
    "org_unit_id": "所属机构",
    "roles": "角色",
    "page": "页码",
    "size": "每页条数",
}


def label(field: str) -> str:
    return FIELD_LABELS.get(field, field)
