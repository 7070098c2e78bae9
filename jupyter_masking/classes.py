"""The data classes: stable names that policies, tests and tools depend on.

Names are ``<family>.<kind>``. They are contracts: new classes may be added, but
these names never change. Policies may match families with globs (``secret.*``).

>>> PII_EMAIL
'pii.email'
>>> family(GOV_ID_US_SSN)
'gov_id'
>>> matching("secret.*")[:2]
('secret.private_key', 'secret.jwt')
>>> is_known("pii.emial")
False
"""

from __future__ import annotations

from fnmatch import fnmatchcase

PII_PERSON_NAME = "pii.person_name"
PII_EMAIL = "pii.email"
PII_PHONE = "pii.phone"
PII_POSTAL_ADDRESS = "pii.postal_address"
PII_DATE_OF_BIRTH = "pii.date_of_birth"
PII_IP_ADDRESS = "pii.ip_address"
PII_MAC_ADDRESS = "pii.mac_address"
PII_URL = "pii.url"

GOV_ID_US_SSN = "gov_id.us_ssn"
GOV_ID_US_ITIN = "gov_id.us_itin"
GOV_ID_US_PASSPORT = "gov_id.us_passport"
GOV_ID_US_DRIVER_LICENSE = "gov_id.us_driver_license"
GOV_ID_UK_NINO = "gov_id.uk_nino"

FINANCIAL_CREDIT_CARD = "financial.credit_card"
FINANCIAL_IBAN = "financial.iban"
FINANCIAL_ABA_ROUTING = "financial.aba_routing"
FINANCIAL_CRYPTO_WALLET = "financial.crypto_wallet"

HEALTH_US_NPI = "health.us_npi"
HEALTH_US_MBI = "health.us_mbi"
HEALTH_UK_NHS = "health.uk_nhs"

SECRET_PRIVATE_KEY = "secret.private_key"
SECRET_JWT = "secret.jwt"
SECRET_AWS_ACCESS_KEY = "secret.aws_access_key"
SECRET_GITHUB_TOKEN = "secret.github_token"
SECRET_GITLAB_TOKEN = "secret.gitlab_token"
SECRET_SLACK_TOKEN = "secret.slack_token"
SECRET_STRIPE_KEY = "secret.stripe_key"
SECRET_OPENAI_API_KEY = "secret.openai_api_key"
SECRET_ANTHROPIC_API_KEY = "secret.anthropic_api_key"
SECRET_HUGGINGFACE_TOKEN = "secret.huggingface_token"
SECRET_NPM_TOKEN = "secret.npm_token"
SECRET_PYPI_TOKEN = "secret.pypi_token"
SECRET_SENDGRID_KEY = "secret.sendgrid_key"
SECRET_MAILCHIMP_KEY = "secret.mailchimp_key"
SECRET_DISCORD_TOKEN = "secret.discord_token"
SECRET_TELEGRAM_BOT_TOKEN = "secret.telegram_bot_token"
SECRET_HEROKU_API_KEY = "secret.heroku_api_key"
SECRET_BASIC_AUTH = "secret.basic_auth"
SECRET_GENERIC = "secret.generic"

ALL: tuple[str, ...] = (
    PII_PERSON_NAME,
    PII_EMAIL,
    PII_PHONE,
    PII_POSTAL_ADDRESS,
    PII_DATE_OF_BIRTH,
    PII_IP_ADDRESS,
    PII_MAC_ADDRESS,
    PII_URL,
    GOV_ID_US_SSN,
    GOV_ID_US_ITIN,
    GOV_ID_US_PASSPORT,
    GOV_ID_US_DRIVER_LICENSE,
    GOV_ID_UK_NINO,
    FINANCIAL_CREDIT_CARD,
    FINANCIAL_IBAN,
    FINANCIAL_ABA_ROUTING,
    FINANCIAL_CRYPTO_WALLET,
    HEALTH_US_NPI,
    HEALTH_US_MBI,
    HEALTH_UK_NHS,
    SECRET_PRIVATE_KEY,
    SECRET_JWT,
    SECRET_AWS_ACCESS_KEY,
    SECRET_GITHUB_TOKEN,
    SECRET_GITLAB_TOKEN,
    SECRET_SLACK_TOKEN,
    SECRET_STRIPE_KEY,
    SECRET_OPENAI_API_KEY,
    SECRET_ANTHROPIC_API_KEY,
    SECRET_HUGGINGFACE_TOKEN,
    SECRET_NPM_TOKEN,
    SECRET_PYPI_TOKEN,
    SECRET_SENDGRID_KEY,
    SECRET_MAILCHIMP_KEY,
    SECRET_DISCORD_TOKEN,
    SECRET_TELEGRAM_BOT_TOKEN,
    SECRET_HEROKU_API_KEY,
    SECRET_BASIC_AUTH,
    SECRET_GENERIC,
)

FAMILIES: tuple[str, ...] = ("pii", "gov_id", "financial", "health", "secret")

_KNOWN = frozenset(ALL)


def is_known(name: str) -> bool:
    """Whether ``name`` is one of the data classes above."""
    return name in _KNOWN


def family(name: str) -> str:
    """The family part of a data class name (``pii`` for ``pii.email``)."""
    return name.split(".", 1)[0]


def matching(pattern: str) -> tuple[str, ...]:
    """The known data classes a glob such as ``secret.*`` or ``*`` matches, in table order."""
    return tuple(name for name in ALL if fnmatchcase(name, pattern))
