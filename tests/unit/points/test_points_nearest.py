"""Distances and districts for the taxpayers' "nearest service point" page."""

from __future__ import annotations

import pytest

from zhishui.points.policy import District, describe_distance, district_of, haversine_km, valid_position


def test_one_degree_of_latitude_is_about_111_kilometres() -> None:
    assert haversine_km(29.0, 120.0, 30.0, 120.0) == pytest.approx(111.195, abs=0.01)


def test_one_degree_of_longitude_shrinks_with_the_cosine_of_latitude() -> None:
    # At 60° N a degree of longitude is half the equator's (111.195 / 2), to within the arc's bulge.
    assert haversine_km(60.0, 10.0, 60.0, 11.0) == pytest.approx(55.59, abs=0.05)


def test_distance_is_symmetric_and_zero_at_the_same_place() -> None:
    a, b = (29.5012, 120.7031), (29.4318, 120.6415)
    assert haversine_km(*a, *b) == pytest.approx(haversine_km(*b, *a))
    assert haversine_km(*a, *a) == 0


def test_a_known_pair_beijing_to_shanghai() -> None:
    # Tiananmen (39.9075, 116.3972) to the Bund (31.2397, 121.4998): about 1,067 km great-circle.
    assert haversine_km(39.9075, 116.3972, 31.2397, 121.4998) == pytest.approx(1067, abs=5)


def test_antipodes_do_not_overflow() -> None:
    assert haversine_km(0, 0, 0, 180) == pytest.approx(20015.1, abs=1)


@pytest.mark.parametrize(
    ("address", "county", "town"),
    [
        ("示例县石门镇兴业路 16 号", "示例县", "石门镇"),
        ("示例县青溪街道学府路 88 号", "示例县", "青溪街道"),
        ("示例县长汀乡长汀村文化路 2 号", "示例县", "长汀乡"),
        ("浙江省杭州市西湖区北山街道曙光路 1 号", "西湖区", "北山街道"),
        ("示例县人民路 120 号", "示例县", ""),
        ("示例县云湖街道市民大道 1 号政务服务中心二楼", "示例县", "云湖街道"),  # 市 in the street name
        ("示例市示例区城关镇解放路 3 号", "示例区", "城关镇"),
        ("", "", ""),
    ],
)
def test_the_district_is_read_from_the_start_of_the_address(address: str, county: str, town: str) -> None:
    assert district_of(address) == District(county, town)


def test_district_labels() -> None:
    assert District("示例县", "石门镇").label == "石门镇（示例县）"
    assert District("示例县", "").label == "示例县"
    assert District("", "").label == "其他"


def test_positions_and_distance_text() -> None:
    assert valid_position(29.5, 120.7)
    assert not valid_position(91, 0)
    assert not valid_position(0, 181)
    assert not valid_position(float("nan"), 0)
    assert describe_distance(0.42) == "420 米"
    assert describe_distance(3.456) == "3.5 公里"
