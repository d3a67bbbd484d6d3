"""Which regions share a national plan, and which regions a country code dials. Plain Python."""

import phonenumbers

# A national 0XXXXXXXXX may belong to an overseas department/collectivity sharing the
# French 10-digit plan (Saint-Pierre-et-Miquelon is left out: its 6-digit national
# numbers would make truncated French numbers look valid).
OVERSEAS = {"FR": ("RE", "YT", "GP", "BL", "MF", "MQ", "GF")}


def split_country_code(digits):
    """(country code, its regions, the rest) of the digits after "+", or None without a code."""
    for size in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size] or 0))
        if regions:
            return digits[:size], regions, digits[size:]
    return None
