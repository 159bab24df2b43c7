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
    "limit": "返回条数",
    "matter_codes": "事项",
    "matter_code": "事项",
    "priority_group": "优先群体",
    "reason": "原因",
    "zone": "去向",
    "action": "操作",
    "target_queue_id": "目标队列",
    "org_unit_id": "所属机构",
    "roles": "角色",
    "page": "页码",
    "size": "每页条数",
    "phones": "手机号码",
    "label": "号码备注",
    "parent_id": "上级机构",
    "point_kind": "服务点类型",
    "address": "地址",
    "latitude": "纬度",
    "longitude": "经度",
    "opening_hours": "办公时间",
    "matter_ids": "可办事项",
    "note": "备注",
}


def label(field: str) -> str:
    return FIELD_LABELS.get(field, field)
