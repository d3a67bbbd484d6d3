"""Every sentence a tenant's agent can say, filled with example values. Plain Python."""

import string

from backend.phones import example_mobile
from backend.privacy.masking import mask_phone, spoken_digits
from backend.prompts import SOURCE_TEXT

FALLBACK_EXAMPLE = "+33612345614"


def example_number(region):
    """A valid mobile number of the tenant's region (never a real caller's)."""
    return example_mobile(region) or FALLBACK_EXAMPLE


class _Examples(dict):
    """Known placeholders get an example; an unknown one stays visible as `{name}`."""

    def __missing__(self, name):
        return "{" + name + "}"


def example_values(tenant, number):
    """Example values for the placeholders sentences use, by name."""
    digits = spoken_digits(number, tenant.spoken_digits)
    values = _Examples(
        last_two=digits,
        last_digits=digits,
        phone_masked=mask_phone(number, tenant.logged_digits),
        name=tenant.name,
        tenant_name=tenant.name,
        attempts="2",
        # The system-prompt line (`flask vapi config`): Vapi puts the number there; shown masked.
        caller_number=mask_phone(number, tenant.logged_digits),
    )
    return values


def fill(template, values):
    """The sentence with its placeholders filled; never fails on a strange placeholder."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        # Unknown names are shown as `{name}`: formatting them again would fail on a format spec.
        return template.format_map(_Examples({n: values[n] for n in names}))
    except (ValueError, KeyError, IndexError, AttributeError, TypeError):
        return template


NO_DIGITS = "_NO_DIGITS"  # a sentence's twin for a tenant that reads no digit (engine/contact.py)


def said_by(tenant, key):
    """False for a sentence the tenant's `masking.spoken_digits` rules out: the one reading
    digits when it reads none, its `_NO_DIGITS` twin when it reads some."""
    if key.endswith(NO_DIGITS):
        return tenant.spoken_digits == 0
    return tenant.spoken_digits != 0 or key + NO_DIGITS not in SOURCE_TEXT


def preview(tenant, catalogs):
    """(example number masked as logs show it, [(key, catalog or None, sentence)]).

    Every key of prompts.py the tenant's agent can say, in its variant and locale, after the
    usual fallbacks; the catalog is where the sentence comes from (`fr/warm.po`), None for the
    source text.
    """
    number = example_number(tenant.region)
    values = example_values(tenant, number)
    sentences = []
    for key in filter(lambda key: said_by(tenant, key), SOURCE_TEXT):
        template, origin = catalogs.lookup(key, tenant.locale, tenant.variant)
        sentences.append((key, origin, fill(template, values)))
    return mask_phone(number, tenant.logged_digits), sentences
