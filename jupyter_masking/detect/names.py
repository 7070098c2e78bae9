"""Column-name rules: the class a column's name suggests, before looking at its values.

Names are normalised first (camelCase and punctuation become ``_``-separated lowercase
words), then matched word-wise against :data:`NAME_RULES` in order, most specific
first, so ``c_email_address`` is an email column and not an address column. A name
rule is only a hint: :mod:`jupyter_masking.detect.columns` drops it when the values
contradict it.

>>> name_hint("c_email_address"), name_hint("phoneNo"), name_hint("order_id")
('pii.email', 'pii.phone', None)
>>> name_rule("birth_date")
('pii.date_of_birth', 'birth_date')
"""

from __future__ import annotations

import re
from functools import lru_cache

from jupyter_masking import classes as c

_NUM = r"(?:_?(?:no|nr|num|number|id))?"

# (class, word pattern) in priority order. Patterns match whole ``_``-separated words.
NAME_RULES: tuple[tuple[str, str], ...] = (
    (c.SECRET_PRIVATE_KEY, r"(?:private|priv|rsa|ssh|pgp)_?key|pem"),
    (c.SECRET_JWT, r"jwt|id_?token"),
    (c.SECRET_AWS_ACCESS_KEY, r"aws_?(?:access_?)?key(?:_?id)?"),
    (c.SECRET_GITHUB_TOKEN, r"(?:github|gh)_?(?:token|pat)"),
    (c.SECRET_GITLAB_TOKEN, r"gitlab_?token"),
    (c.SECRET_SLACK_TOKEN, r"slack_?(?:token|webhook)"),
    (c.SECRET_STRIPE_KEY, r"stripe_?(?:secret_?)?key"),
    (c.SECRET_OPENAI_API_KEY, r"openai_?(?:api_?)?key"),
    (c.SECRET_ANTHROPIC_API_KEY, r"anthropic_?(?:api_?)?key"),
    (c.SECRET_HUGGINGFACE_TOKEN, r"(?:hf|huggingface)_?token"),
    (c.SECRET_NPM_TOKEN, r"npm_?token"),
    (c.SECRET_PYPI_TOKEN, r"pypi_?token"),
    (c.SECRET_SENDGRID_KEY, r"sendgrid_?(?:api_?)?key"),
    (c.SECRET_MAILCHIMP_KEY, r"mailchimp_?(?:api_?)?key"),
    (c.SECRET_DISCORD_TOKEN, r"discord_?(?:bot_?)?token"),
    (c.SECRET_TELEGRAM_BOT_TOKEN, r"telegram_?(?:bot_?)?token"),
    (c.SECRET_HEROKU_API_KEY, r"heroku_?(?:api_?)?key"),
    (c.SECRET_BASIC_AUTH, r"basic_?auth|authorization|auth_?header"),
    (
        c.SECRET_GENERIC,
        r"password|passwd|pwd|passphrase|secret|client_?secret|api_?key|apikey|secret_?key"
        r"|(?:access|refresh|auth|session|bearer|private)_?tokens?|tokens?|credentials?",
    ),
    (c.PII_EMAIL, r"e_?mail(?:_?addr(?:ess)?)?|mail"),
    (c.PII_IP_ADDRESS, r"ip(?:v[46])?(?:_?addr(?:ess)?)?|remote_?addr|(?:client|src|dst)_?ip"),
    (c.PII_MAC_ADDRESS, r"mac(?:_?addr(?:ess)?)?"),
    (c.GOV_ID_US_SSN, r"ssn|social_?security" + _NUM + r"|ss_?num(?:ber)?"),
    (c.GOV_ID_US_ITIN, r"itin"),
    (c.GOV_ID_US_PASSPORT, r"passport" + _NUM),
    (c.GOV_ID_US_DRIVER_LICENSE, r"drivers?_?licen[cs]e" + _NUM + r"|dl_?(?:no|num|number)"),
    (c.GOV_ID_UK_NINO, r"nino|ni_?(?:no|num|number)|national_?insurance" + _NUM),
    (c.FINANCIAL_IBAN, r"iban"),
    (c.FINANCIAL_ABA_ROUTING, r"aba|routing(?:_?transit)?" + _NUM + r"|rtn"),
    (c.FINANCIAL_CREDIT_CARD, r"cc" + _NUM + r"|(?:credit_?)?card" + _NUM + r"|pan|ccn"),
    (c.FINANCIAL_CRYPTO_WALLET, r"(?:btc|eth|crypto|bitcoin)?_?wallet(?:_?addr(?:ess)?)?"),
    (c.HEALTH_US_NPI, r"npi"),
    (c.HEALTH_US_MBI, r"mbi|medicare" + _NUM),
    (c.HEALTH_UK_NHS, r"nhs" + _NUM),
    (c.PII_PHONE, r"(?:tele?)?phone" + _NUM + r"|mobile|cell(?:_?phone)?|tel|fax|msisdn"),
    (c.PII_DATE_OF_BIRTH, r"dob|birth_?(?:date|day|dt)|date_?of_?birth|birthday|birthdate"),
    (
        c.PII_PERSON_NAME,
        r"(?:first|last|full|middle|given|family|maiden|customer|contact|patient|employee"
        r"|person|holder|card_?holder|display)_?name|[fl]name|surname|forename"
        r"|^name$",  # a bare ``name``, not ``product_name``
    ),
    (
        c.PII_POSTAL_ADDRESS,
        r"(?:street|postal|mailing|home|billing|shipping|postal)?_?addr(?:ess)?(?:_?line_?[0-9])?"
        r"|street",
    ),
    (c.PII_URL, r"url|uri|website|homepage"),
)

_COMPILED = tuple(
    (data_class, re.compile(rf"(?:^|_)({words})(?:_|$)")) for data_class, words in NAME_RULES
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalize(column_name: str) -> str:
    """Lowercase ``_``-separated words: ``cEmailAddress`` becomes ``c_email_address``.

    >>> normalize("phoneNo"), normalize("  Date of Birth ")
    ('phone_no', 'date_of_birth')
    """
    spaced = _CAMEL.sub("_", column_name.strip())
    return _NON_WORD.sub("_", spaced.lower()).strip("_")


@lru_cache(maxsize=4096)
def name_rule(column_name: str) -> tuple[str, str] | None:
    """The class the name suggests and the words that matched, or ``None``.

    Args:
        column_name: A column name as the database or frame spells it.

    Returns:
        ``(data_class, matched_words)``, e.g. ``('pii.email', 'email')``, or ``None``.
    """
    normalized = normalize(column_name)
    for data_class, pattern in _COMPILED:
        match = pattern.search(normalized)
        if match:
            return data_class, match.group(1)
    return None


def name_hint(column_name: str) -> str | None:
    """The class suggested by the column name alone, or ``None``.

    >>> name_hint("ssn"), name_hint("cc_number"), name_hint("api_key"), name_hint("amount")
    ('gov_id.us_ssn', 'financial.credit_card', 'secret.generic', None)
    """
    rule = name_rule(column_name)
    return rule[0] if rule else None
