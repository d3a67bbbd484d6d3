"""Every sentence the agent can say, by key: the source text; translators own the catalogs.

Each sentence is marked `N_(key, source text)`: `pybabel extract -k N_:1c,2` (see `make i18n`) puts
the key in msgctxt and the text in msgid. Catalogs live in `locales/<locale>/LC_MESSAGES/`, one file
per wording variant (`messages.po` is the `standard` variant).
"""


def N_(key, text):
    """Mark a sentence for extraction; returns the (key, source text) pair."""
    return key, text


VOCAL_CONTACT_CONFIRM_CALLER_ID = "VOCAL_CONTACT_CONFIRM_CALLER_ID"
VOCAL_CONTACT_CONFIRM_CALLER_ID_NO_DIGITS = "VOCAL_CONTACT_CONFIRM_CALLER_ID_NO_DIGITS"
VOCAL_CONTACT_NO_CALLER_ID = "VOCAL_CONTACT_NO_CALLER_ID"
VOCAL_CONTACT_CONFIRM_OK = "VOCAL_CONTACT_CONFIRM_OK"
VOCAL_CONTACT_CONFIRM_NO = "VOCAL_CONTACT_CONFIRM_NO"
VOCAL_SERVICE_UNAVAILABLE = "VOCAL_SERVICE_UNAVAILABLE"

SOURCE_TEXT = dict(
    [
        # TRANSLATORS: the caller ID is known. {last_two}: its last digits, read as French pairs
        # (« 14 », or « 56 14 » when the tenant reads four digits). Keep {last_two} as is.
        N_(
            "VOCAL_CONTACT_CONFIRM_CALLER_ID",
            "J'ai un numéro qui se termine par {last_two}. C'est bien le vôtre ? Dites oui ou non.",
        ),
        # TRANSLATORS: the caller ID is known; the tenant reads no digit aloud (spoken_digits: 0).
        N_(
            "VOCAL_CONTACT_CONFIRM_CALLER_ID_NO_DIGITS",
            "J'ai le numéro qui s'affiche pour votre appel. "
            "C'est bien le vôtre ? Dites oui ou non.",
        ),
        # TRANSLATORS: no caller ID: the agent asks for a number.
        N_(
            "VOCAL_CONTACT_NO_CALLER_ID",
            "Je n'ai pas votre numéro qui s'affiche. Pouvez-vous me le donner ?",
        ),
        # TRANSLATORS: the caller said yes: the number is confirmed.
        N_("VOCAL_CONTACT_CONFIRM_OK", "Parfait, c'est noté."),
        # TRANSLATORS: the caller said no: the agent asks for another number.
        N_(
            "VOCAL_CONTACT_CONFIRM_NO",
            "Pas de souci. Quel est le meilleur numéro pour vous joindre ?",
        ),
        # TRANSLATORS: spoken when the tenant has no assistant to hand the call to.
        N_(
            "VOCAL_SERVICE_UNAVAILABLE",
            "Désolé, notre service est momentanément indisponible. Merci de rappeler plus tard.",
        ),
    ]
)
