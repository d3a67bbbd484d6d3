"""Is this digit string, as dialled from a region, a valid phone number? Fast.

The phone parser asks this for many candidate readings of an utterance, so the answer
must be cheap: `phonenumbers.parse` plus `is_valid_number` cost tens of µs, and
`phonenumbers` recompiles its patterns whenever they fall out of Python's regex cache.
Here each region's metadata is compiled once (backend/phones/compiled.py), and a
number is valid exactly when `phonenumbers.is_valid_number_for_region` would say so: its
national number matches the region's general description and one number type (fixed line,
mobile, toll free...), each with its possible lengths (tests/test_nlu_phone.py checks the two
agree).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers

from backend.phones.compiled import CompiledRegion, compiled_region
from backend.phones.regions import OVERSEAS, split_country_code

# Longest digit string that can become a number: "00" then the 15 digits E.164 allows.
MAX_DIGITS = 17
# "+" or "00", country code and number (at least 7 digits in all), and maybe a spoken
# trunk 0 (« +33 (0)6... »).
_INTERNATIONAL_BOUNDS = (MAX_DIGITS + 1, frozenset(range(8, MAX_DIGITS + 2)))
_DIGITS = re.compile(r"[0-9]+")
# Characters enough to recognise a trunk or international prefix ("0", "00", "0011").
_HEAD = 5


@dataclass(frozen=True)
class Plan:
    """How numbers are dialled from a region."""

    national_prefix: str  # trunk prefix, "0" in France
    national_lengths: frozenset[int]  # lengths of national numbers, trunk prefix included
    idd: re.Pattern[str] | None  # international call prefix, "00" in France
    home: CompiledRegion
    # Regions sharing the national plan (OVERSEAS), tried first for a fixed line or mobile:
    # `phonenumbers`' FR metadata also accepts some of their prefixes (0269, 0596...) as +33,
    # which would be the wrong E.164.
    overseas: tuple[CompiledRegion, ...]
    # Any fixed/mobile pattern of any overseas region: most numbers fail it at once.
    overseas_geographic: re.Pattern[str]

    # Bounds by first characters: asked for every piece of every reading.
    _bounds: dict[str, tuple[int, frozenset[int]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def bounds(self, digits: str) -> tuple[int, frozenset[int]]:
        """(longest `digits` may grow to and still become a number, or 0 if it never
        will; the lengths at which it may be one), judged on its first characters."""
        head = digits[:_HEAD]
        found = self._bounds.get(head)
        if found is None:
            if head.startswith("+") or (self.idd is not None and self.idd.match(head)):
                found = _INTERNATIONAL_BOUNDS
            elif head.startswith(self.national_prefix):
                found = max(self.national_lengths), self.national_lengths
            else:
                found = 0, frozenset()  # no trunk prefix, never a number: see e164_if_valid
            if len(self._bounds) > 4096:  # keep the cache bounded
                self._bounds.clear()
            self._bounds[head] = found
        return found

    def max_length(self, digits: str) -> int:
        """Longest `digits` could grow to and still become a number (0: never)."""
        return self.bounds(digits)[0]


@lru_cache(maxsize=64)
def plan(region: str) -> Plan:
    """Dialling plan of `region` (ISO code such as "FR"); ValueError if unknown."""
    home = compiled_region(region)
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if home is None or meta is None:
        raise ValueError(f"unknown region: {region!r}")
    overseas = tuple(filter(None, map(compiled_region, OVERSEAS.get(region, ()))))
    return Plan(
        national_prefix=home.national_prefix,
        national_lengths=frozenset(
            n + len(home.national_prefix) for n in meta.general_desc.possible_length
        ),
        idd=re.compile(meta.international_prefix) if meta.international_prefix else None,
        home=home,
        overseas=overseas,
        overseas_geographic=re.compile(
            "|".join(d.pattern.pattern for r in overseas for d in r.geographic) or "(?!)"
        ),
    )


def _international(digits: str) -> str | None:
    """E.164 for country code + national number digits (no "+" or "00")."""
    split = split_country_code(digits)
    if split is None:
        return None
    _, codes, nsn = split
    for region in filter(None, map(compiled_region, codes)):
        candidates = [nsn]
        if region.national_prefix and nsn.startswith(region.national_prefix):
            candidates.append(nsn[len(region.national_prefix) :])  # « +33 (0)6 ... »
        for candidate in candidates:
            if candidate and region.valid(candidate):
                return f"+{region.country_code}{candidate}"
    return None


@lru_cache(maxsize=4096)
def e164_if_valid(digits: str, region: str) -> str | None:
    """E.164 for `digits` ("0612345678", "+33612345678", "0033...") dialled from
    `region`, or None unless it is a valid number by `phonenumbers`' metadata.

    A national number must start with the trunk prefix (« zéro six... »): without it a
    truncated number would too easily look valid.
    """
    home = plan(region)
    if digits.startswith("+"):
        rest = digits[1:]
        return _international(rest) if _DIGITS.fullmatch(rest) and len(rest) <= MAX_DIGITS else None
    if not _DIGITS.fullmatch(digits):
        return None
    idd = home.idd.match(digits) if home.idd is not None else None
    if idd is not None:
        return _international(digits[idd.end() :]) if idd.end() < len(digits) else None
    if not digits.startswith(home.national_prefix) or len(digits) not in home.national_lengths:
        return None
    nsn = digits[len(home.national_prefix) :]
    # Overseas fixed/mobile ranges first (0269 is Mayotte even though FR metadata would
    # take it as +33), then the home region, then other ranges shared with it; but a
    # home non-geographic number (08, 09 in France) is the home's (0808 stays +33 808).
    home_only = home.home.valid(nsn) and not home.home.valid(nsn, geographic=True)
    overseas_first = not home_only and home.overseas_geographic.fullmatch(nsn)
    candidates = [(r, True) for r in home.overseas] if overseas_first else []
    candidates += [(home.home, False)] + [(r, False) for r in home.overseas]
    for candidate_region, geographic in candidates:
        if candidate_region.valid(nsn, geographic):
            return f"+{candidate_region.country_code}{nsn}"
    return None
