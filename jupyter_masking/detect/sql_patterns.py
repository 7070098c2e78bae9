r"""Span patterns the database runs itself, to mask spans in free-text columns.

The gateway applies each pattern with ``regexp_replace`` inside the query, so that
derived expressions (``reverse(note)``, ``substr``) only ever see masked text. One
pattern must mean the same in DuckDB (RE2), PostgreSQL (ARE), MariaDB 10.11 (PCRE2)
and Python ``re`` (SQLite), so they use a small common subset:

* no ``\\d``, ``\\w``, ``\\s``, ``\\b`` and no backslash at all (PostgreSQL reads ``\\b``
  as backspace; MariaDB string literals eat backslashes): ``[0-9]``, ``[.]``, and a
  literal tab or newline inside brackets instead;
* no lookaround, lazy quantifiers, named groups, backreferences, POSIX classes,
  inline flags or quote characters; case-insensitive words are spelled ``[Pp][Aa]…``;
* no bound above 255 (PostgreSQL's limit).

SQL cannot run validators, so the patterns err toward masking: any 13–19 digit run is
a card, any ``NNN-NN-NNNN`` an SSN, a secret keyword's whole assignment is masked
together with the keyword. Known over-matches in SQL: long order or tracking numbers
(card, phone), digit groups such as ``123 456 7890``, and on MariaDB with a
case-insensitive collation, letter classes also match lowercase (``[A-Z]{2}`` in the
IBAN pattern). PostgreSQL needs the ``'g'`` flag and DuckDB too; MariaDB replaces every
match by default.

>>> import re
>>> re.sub(SQL_SPAN_PATTERNS["pii.email"], "#", "write to ann@example.com today")
'write to # today'
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from jupyter_masking import classes as c

_SPACE = "[ \t]"  # a literal tab: no backslash escapes in portable patterns


def _ci(word: str) -> str:
    """``token`` -> ``[Tt][Oo][Kk][Ee][Nn]`` (no engine-specific case flag needed)."""
    return "".join(f"[{ch.upper()}{ch.lower()}]" if ch.isalpha() else f"[{ch}]" for ch in word)


_KEYWORDS = "|".join(
    _ci(word)
    for word in (
        "password", "passwd", "pwd", "passphrase", "secret", "api_key", "api-key", "apikey",
        "access_key", "secret_key", "private_key", "token", "credential",
    )
)  # fmt: skip
_B64URL = "[A-Za-z0-9_-]"

_PATTERNS: dict[str, str] = {
    c.SECRET_PRIVATE_KEY: (
        "-----BEGIN[ A-Z0-9]*PRIVATE KEY( BLOCK)?-----[^-]*"
        "(-----END[ A-Z0-9]*PRIVATE KEY( BLOCK)?-----)?"
    ),
    c.SECRET_JWT: f"eyJ{_B64URL}+[.]{_B64URL}+[.]{_B64URL}*",
    c.SECRET_AWS_ACCESS_KEY: "(AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}",
    c.SECRET_GITHUB_TOKEN: "(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})",
    c.SECRET_GITLAB_TOKEN: f"gl(pat|ptt|dt|rt|cbt|imt|oas|ft|soat|agent)-{_B64URL}{{20,}}",
    c.SECRET_SLACK_TOKEN: (
        "(xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,}"
        "|https://hooks[.]slack[.]com/[A-Za-z0-9_/-]+)"
    ),
    c.SECRET_STRIPE_KEY: "((sk|rk)_(live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{24,})",
    c.SECRET_ANTHROPIC_API_KEY: f"sk-ant-{_B64URL}{{20,}}",
    c.SECRET_OPENAI_API_KEY: f"sk-{_B64URL}{{20,}}",
    c.SECRET_HUGGINGFACE_TOKEN: "(hf_|api_org_)[A-Za-z0-9]{30,}",
    c.SECRET_NPM_TOKEN: "npm_[A-Za-z0-9]{36}",
    c.SECRET_PYPI_TOKEN: f"pypi-{_B64URL}{{50,}}",
    c.SECRET_SENDGRID_KEY: f"SG[.]{_B64URL}{{22}}[.]{_B64URL}{{43}}",
    c.SECRET_MAILCHIMP_KEY: "[0-9a-f]{32}-us[0-9]{1,2}",
    c.SECRET_DISCORD_TOKEN: (
        f"([MNO]{_B64URL}{{23,25}}[.]{_B64URL}{{6}}[.]{_B64URL}{{27,38}}"
        "|https://([a-z]+[.])?discord(app)?[.]com/api/webhooks/[0-9]+/[A-Za-z0-9_-]+)"
    ),
    c.SECRET_TELEGRAM_BOT_TOKEN: f"[0-9]{{8,10}}:AA{_B64URL}{{33}}",
    c.SECRET_HEROKU_API_KEY: f"HRKU-{_B64URL}{{20,}}",
    c.SECRET_BASIC_AUTH: (
        f"([A-Za-z][A-Za-z0-9+.-]*://[^ \t/:@]+:[^ \t/@]+@"
        f"|{_ci('basic')}{_SPACE}+[A-Za-z0-9+/]{{8,}}=*)"
    ),
    c.SECRET_GENERIC: (
        f"([A-Za-z0-9_.-]*({_KEYWORDS})[A-Za-z0-9_.-]*[^ \t\nA-Za-z0-9]?{_SPACE}*(:|=>|=)"
        f"{_SPACE}*[^ \t\nA-Za-z0-9]?[^ \t\n,;}}]+|{_ci('bearer')}{_SPACE}+[A-Za-z0-9._~+/-]+=*)"
    ),
    c.FINANCIAL_IBAN: "[A-Z]{2}[0-9]{2}( ?[A-Z0-9]{4}){2,7}( ?[A-Z0-9]{1,3})?",
    c.FINANCIAL_CREDIT_CARD: "[0-9]([ -]?[0-9]){12,18}",
    c.FINANCIAL_CRYPTO_WALLET: (
        "(bc1[02-9ac-hj-np-z]{11,71}|0x[0-9a-fA-F]{40}|[13][1-9A-HJ-NP-Za-km-z]{25,34})"
    ),
    c.HEALTH_US_MBI: "[1-9][A-Z][A-Z0-9][0-9]-?[A-Z][A-Z0-9][0-9]-?[A-Z]{2}[0-9]{2}",
    c.GOV_ID_US_SSN: (
        f"([0-9]{{3}}-[0-9]{{2}}-[0-9]{{4}}|[0-9]{{3}} [0-9]{{2}} [0-9]{{4}}"
        f"|({_ci('ssn')}|{_ci('social security')})[^0-9]{{0,20}}[0-9]{{9}})"
    ),
    c.GOV_ID_UK_NINO: "[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]",
    c.PII_EMAIL: "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+[.][A-Za-z]{2,}",
    c.PII_PHONE: (
        "([+][0-9]{1,3}([ .-]?[(]?[0-9]{1,5}[)]?){2,5}"
        "|([+]?1[ .-]?|001[ .-]?)?[(]?[0-9]{3}[)]?[ .-]?[0-9]{3}[ .-]?[0-9]{4})"
        "( ?(x|ext[.]?) ?[0-9]{1,6})?"
    ),
    c.PII_IP_ADDRESS: (
        "([0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}"
        "|[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){3,7}|[0-9A-Fa-f]{0,4}::[0-9A-Fa-f]{1,4})"
    ),
    c.PII_MAC_ADDRESS: "[0-9A-Fa-f]{2}([-:][0-9A-Fa-f]{2}){5}",
}

SQL_SPAN_PATTERNS: Mapping[str, str] = MappingProxyType(_PATTERNS)
"""Data class -> portable regex for ``regexp_replace`` inside the database, applied in
this order (secrets first, so a key is not half-eaten by the phone pattern)."""
