"""Each region's phone number metadata compiled once: is a national number valid there?

Exactly as `phonenumbers.is_valid_number_for_region` reads the same metadata (its general
description, then one number type with its possible lengths), without recompiling patterns
that fell out of Python's regex cache. tests/test_phones.py and tests/test_nlu_phone.py check
that the two agree.
"""

import functools
import re
from dataclasses import dataclass

import phonenumbers

# Valid: the general description and one of these types match. phonenumbers tries the rare
# types first, as it tells which one matched; fixed lines and mobiles first answer sooner.
_TYPES = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
)


@dataclass(frozen=True)
class _Desc:
    """A compiled PhoneNumberDesc: lengths (empty: any) and national number pattern."""

    lengths: frozenset
    pattern: re.Pattern

    def matches(self, nsn):
        return (not self.lengths or len(nsn) in self.lengths) and bool(self.pattern.fullmatch(nsn))


def _desc(desc):
    if desc is None or not desc.national_number_pattern:
        return None
    return _Desc(frozenset(desc.possible_length), re.compile(desc.national_number_pattern))


@dataclass(frozen=True)
class CompiledRegion:
    """One region's metadata, compiled."""

    code: str
    country_code: int
    national_prefix: str
    general: _Desc
    types: tuple
    geographic: tuple  # fixed line and mobile: numbers that belong to the place

    def valid(self, nsn, geographic=False):
        """Valid national significant number (of a fixed line or mobile if `geographic`)."""
        types = self.geographic if geographic else self.types
        return self.general.matches(nsn) and any(desc.matches(nsn) for desc in types)


@functools.cache
def compiled_region(code):
    """The CompiledRegion of a region code (FR, RE...), None for one without metadata."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(code)
    general = _desc(meta.general_desc) if meta else None
    if meta is None or general is None:
        return None
    return CompiledRegion(
        code=code,
        country_code=meta.country_code,
        national_prefix=meta.national_prefix or "",
        general=general,
        types=tuple(filter(None, (_desc(getattr(meta, t)) for t in _TYPES))),
        geographic=tuple(filter(None, (_desc(meta.fixed_line), _desc(meta.mobile)))),
    )
