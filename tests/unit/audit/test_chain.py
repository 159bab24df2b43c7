import dataclasses
import datetime as dt

from zhishui.audit.chain import GENESIS, EntryContent, entry_hash, first_broken


def _content(n: int) -> EntryContent:
    return EntryContent(
        at=dt.datetime(2026, 11, 30, 1, n, tzinfo=dt.UTC),
        actor="staff:1",
        action="update",
        entity="taxpayer",
        entity_id=str(n),
        org_unit_id=3,
        ip="127.0.0.1",
        detail={"name": ["甲", "乙"]},
    )


def _chain(n: int) -> list[tuple[int, str, str, EntryContent]]:
    rows, prev = [], GENESIS
    for i in range(1, n + 1):
        c = _content(i)
        h = entry_hash(prev, c)
        rows.append((i, prev, h, c))
        prev = h
    return rows


def test_an_intact_chain_has_no_broken_link() -> None:
    assert first_broken(_chain(5)) is None


def test_an_altered_entry_is_the_first_broken_link() -> None:
    rows = _chain(5)
    i, prev, h, c = rows[2]
    rows[2] = (i, prev, h, dataclasses.replace(c, detail={"name": ["甲", "丙"]}))
    broken = first_broken(rows)
    assert broken is not None and broken.entry_id == 3 and "altered" in broken.reason


def test_a_removed_entry_breaks_the_link_after_it() -> None:
    rows = _chain(5)
    del rows[1]
    broken = first_broken(rows)
    assert broken is not None and broken.entry_id == 3 and "removed" in broken.reason


def test_the_hash_does_not_depend_on_the_time_zone_the_time_was_written_in() -> None:
    c = _content(1)
    shifted = dataclasses.replace(c, at=c.at.astimezone(dt.timezone(dt.timedelta(hours=8))))
    assert entry_hash(GENESIS, c) == entry_hash(GENESIS, shifted)
