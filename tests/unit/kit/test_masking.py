from zhishui.kit.masking import mask_id, mask_name, mask_phone


def test_a_phone_keeps_its_first_three_and_last_four_digits() -> None:
    assert mask_phone("13812341234") == "138****1234"


def test_a_person_keeps_the_family_name_only() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"


def test_a_company_keeps_its_place_and_legal_form() -> None:
    assert mask_name("示例县恒达建材有限公司") == "示例*****有限公司"


def test_an_id_keeps_four_characters_at_each_end() -> None:
    assert mask_id("91330226MA2AXXXX1K") == "9133**********XX1K"
    assert mask_id("330226199001011234") == "3302**********1234"
