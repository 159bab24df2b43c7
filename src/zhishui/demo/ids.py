"""Builders of valid identifiers for the demo county and for property tests.

The check characters are computed here from the standards' own rules (not by asking the validators),
so a test that feeds these numbers to kit.validators checks two independent implementations against
each other.

The demo county's administrative code is fictional: "330999" has a real province prefix (so resident
ids pass the province check) but is assigned to no real county.
"""

from __future__ import annotations

import datetime as dt
import random

DEMO_REGION = "330999"

# GB 32100-2015: 31 characters, no I O S V Z.
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714-1997 organisation code: 8 characters and a check character.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 11643-1999 resident id: ISO 7064 MOD 11-2 weights (2^(17-i) mod 11).
_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    def value(ch: str) -> int:
        return int(ch) if ch.isdigit() else ord(ch) - 55  # A = 10 … Z = 35

    remainder = 11 - sum(value(ch) * w for ch, w in zip(body8, _ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def resident_id_check_char(first17: str) -> str:
    remainder = (12 - sum(int(d) * w for d, w in zip(first17, _RIC_WEIGHTS, strict=True)) % 11) % 11
    return "X" if remainder == 10 else str(remainder)


def make_org_code(rng: random.Random) -> str:
    """A post-2015 style organisation code: "MA" and six characters, then its check character."""
    body = "MA" + "".join(rng.choice(_ORG_BODY_CHARS) for _ in range(6))
    return body + org_code_check_char(body)


def make_uscc(
    rng: random.Random, *, authority: str = "9", entity: str = "1", region: str = DEMO_REGION
) -> str:
    """A valid USCC: authority (9 = market regulation), entity type (1 enterprise, 2 individual
    business), the six-digit region, a nine-character organisation code and the check character."""
    first17 = authority + entity + region + make_org_code(rng)
    return first17 + uscc_check_char(first17)


def make_resident_id(
    rng: random.Random,
    *,
    born: dt.date,
    region: str = DEMO_REGION,
    male: bool | None = None,
) -> str:
    """A valid resident id: region, birth date, a three-digit sequence (odd for men), check character."""
    sequence = rng.randrange(0, 1000)
    if male is not None and (sequence % 2 == 1) != male:
        sequence = (sequence + 1) % 1000
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


def make_legacy_tax_id(rng: random.Random, length: int = 15) -> str:
    """An older taxpayer id without a check digit: the region code, then digits and letters."""
    if length not in (15, 17, 20):
        raise ValueError("legacy ids have 15, 17 or 20 characters")
    tail = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(length - 6))
    return DEMO_REGION + tail


def random_birth_date(rng: random.Random, earliest: dt.date, latest: dt.date) -> dt.date:
    return earliest + dt.timedelta(days=rng.randrange((latest - earliest).days + 1))
