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
VOCAL_CONTACT_CONFIRM_AGAIN = "VOCAL_CONTACT_CONFIRM_AGAIN"
VOCAL_CONTACT_CONFIRM_AGAIN_NO_DIGITS = "VOCAL_CONTACT_CONFIRM_AGAIN_NO_DIGITS"
VOCAL_CONTACT_COLLECT_AFTER_UNCLEAR = "VOCAL_CONTACT_COLLECT_AFTER_UNCLEAR"
VOCAL_CONTACT_COLLECT_CONTINUE = "VOCAL_CONTACT_COLLECT_CONTINUE"
VOCAL_CONTACT_COLLECT_HINT = "VOCAL_CONTACT_COLLECT_HINT"
VOCAL_CONTACT_READBACK = "VOCAL_CONTACT_READBACK"
VOCAL_CONTACT_READBACK_NO_DIGITS = "VOCAL_CONTACT_READBACK_NO_DIGITS"
VOCAL_CONTACT_READBACK_AGAIN = "VOCAL_CONTACT_READBACK_AGAIN"
VOCAL_CONTACT_READBACK_AGAIN_NO_DIGITS = "VOCAL_CONTACT_READBACK_AGAIN_NO_DIGITS"
VOCAL_CONTACT_READBACK_NO = "VOCAL_CONTACT_READBACK_NO"
VOCAL_CONTACT_WAY_OUT_TRANSFER = "VOCAL_CONTACT_WAY_OUT_TRANSFER"
VOCAL_CONTACT_WAY_OUT_CALLBACK = "VOCAL_CONTACT_WAY_OUT_CALLBACK"
VOCAL_CONTACT_WAY_OUT_END = "VOCAL_CONTACT_WAY_OUT_END"
VOCAL_CONTACT_PLEASE_REPEAT = "VOCAL_CONTACT_PLEASE_REPEAT"
# Not said to the caller: a line of the assistant's system prompt (`flask vapi config`).
PROMPT_CALLER_NUMBER_SAFETY_NET = "PROMPT_CALLER_NUMBER_SAFETY_NET"
PROMPT_CALLER_NUMBER_SAFETY_NET_NO_DIGITS = "PROMPT_CALLER_NUMBER_SAFETY_NET_NO_DIGITS"

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
        # TRANSLATORS: the caller's answer to the confirm question was unclear: ask once more, in
        # other words. {last_two}: the caller ID's last digits, as in the first question.
        N_(
            "VOCAL_CONTACT_CONFIRM_AGAIN",
            "Excusez-moi, je n'ai pas bien compris. Votre numéro se termine-t-il bien par "
            "{last_two} ? Répondez simplement oui ou non.",
        ),
        # TRANSLATORS: same, when the tenant reads no digit aloud (spoken_digits: 0).
        N_(
            "VOCAL_CONTACT_CONFIRM_AGAIN_NO_DIGITS",
            "Excusez-moi, je n'ai pas bien compris. Le numéro qui s'affiche est-il bien le vôtre ? "
            "Répondez simplement oui ou non.",
        ),
        # TRANSLATORS: still unclear after asking twice: the agent asks for a number instead.
        N_(
            "VOCAL_CONTACT_COLLECT_AFTER_UNCLEAR",
            "Je vais plutôt noter votre numéro. Quel est le meilleur numéro pour vous joindre ?",
        ),
        # TRANSLATORS: the caller gave the start of a number: the agent waits for the rest.
        N_("VOCAL_CONTACT_COLLECT_CONTINUE", "Je note. Et la suite ?"),
        # TRANSLATORS: no usable number was heard: ask again, with a hint on how to say it.
        N_(
            "VOCAL_CONTACT_COLLECT_HINT",
            "Je n'ai pas bien saisi le numéro. Pouvez-vous me le dire chiffre par chiffre, "
            "en commençant par le zéro ?",
        ),
        # TRANSLATORS: a number was heard: read back its last digits and ask for confirmation.
        # {last_two}: its last digits, read as French pairs. Keep {last_two} as is.
        N_(
            "VOCAL_CONTACT_READBACK",
            "J'ai noté un numéro qui se termine par {last_two}. C'est bien ça ? Dites oui ou non.",
        ),
        # TRANSLATORS: same, when the tenant reads no digit aloud (spoken_digits: 0).
        N_(
            "VOCAL_CONTACT_READBACK_NO_DIGITS",
            "J'ai noté votre numéro. Est-ce que c'est bien le bon ? Dites oui ou non.",
        ),
        # TRANSLATORS: the answer to the read-back was unclear: ask once more, in other words.
        N_(
            "VOCAL_CONTACT_READBACK_AGAIN",
            "Pardon, je n'ai pas compris. Le numéro que j'ai noté finit par {last_two}, "
            "est-ce correct ? Oui ou non ?",
        ),
        # TRANSLATORS: same, when the tenant reads no digit aloud (spoken_digits: 0).
        N_(
            "VOCAL_CONTACT_READBACK_AGAIN_NO_DIGITS",
            "Pardon, je n'ai pas compris. Le numéro que j'ai noté est-il correct ? Oui ou non ?",
        ),
        # TRANSLATORS: the caller said the number read back is wrong: ask for it again.
        N_(
            "VOCAL_CONTACT_READBACK_NO",
            "D'accord, reprenons. Quel est le bon numéro pour vous joindre ?",
        ),
        # TRANSLATORS: no number after the tenant's tries; the tenant hands the call to a person.
        N_("VOCAL_CONTACT_WAY_OUT_TRANSFER", "Je vous passe un conseiller."),
        # TRANSLATORS: no number after the tenant's tries; the request is kept without a number.
        N_(
            "VOCAL_CONTACT_WAY_OUT_CALLBACK",
            "Je n'arrive pas à noter votre numéro, mais votre demande est bien enregistrée. "
            "Nous reviendrons vers vous.",
        ),
        # TRANSLATORS: no number after the tenant's tries; the agent ends the call politely.
        N_(
            "VOCAL_CONTACT_WAY_OUT_END",
            "Je n'arrive pas à noter votre numéro. Merci de nous rappeler plus tard. Au revoir.",
        ),
        # TRANSLATORS: the answer could not be recorded (service hiccup): the caller repeats.
        N_("VOCAL_CONTACT_PLEASE_REPEAT", "Pardon, pouvez-vous répéter ?"),
        # TRANSLATORS: not spoken: a line of the assistant's system prompt, for the model, used
        # only when the call has a caller number. {caller_number}: Vapi puts the number there.
        # Keep {caller_number} as is; the line must forbid reading the number out whole.
        N_(
            "PROMPT_CALLER_NUMBER_SAFETY_NET",
            "Numéro de l'appelant : {caller_number}. Pour le confirmer, ne lisez que ses "
            "derniers chiffres, jamais le numéro en entier.",
        ),
        # TRANSLATORS: as above, for a tenant that reads no digit aloud (spoken_digits: 0).
        # Keep {caller_number} as is; the line must forbid reading any of its digits.
        N_(
            "PROMPT_CALLER_NUMBER_SAFETY_NET_NO_DIGITS",
            "Numéro de l'appelant : {caller_number}. Ne lisez aucun de ses chiffres : pour le "
            "confirmer, demandez si c'est bien le numéro qui s'affiche.",
        ),
    ]
)
