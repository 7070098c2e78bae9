"""Detectors for secrets: private keys, JWTs, provider tokens, credentials in assignments.

Provider tokens are found by their published prefixes and lengths, so documentation
placeholders such as ``AKIAIOSFODNN7EXAMPLE`` are found (and masked) too: a key that
looks real is treated as real. ``secret.generic`` covers values assigned to
secret-looking keys (``password=…``, ``"api_key": "…"``, ``Bearer …``); a
high-entropy string without such context is not reported.
"""

from __future__ import annotations

from jupyter_masking import classes as c
from jupyter_masking.detect import validators as v
from jupyter_masking.detect.model import Detector, Pattern

_B64URL = r"[A-Za-z0-9_\-]"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ASSIGN = r"[A-Za-z0-9_.\-]*[\"'`]?\s*(?:[:=]|=>)\s*[\"'`]?"
_ASSIGNED_VALUE = r"(?:[:=]|=>)\s*[\"'`]?([^\s\"'`,;]+)"
_PASSWORD_WORDS = r"password|passwd|pwd|passphrase|db_?pass|pass"
_KEY_WORDS = (
    r"secret|client[_\-]?secret|api[_\-]?key|apikey|access[_\-]?key|secret[_\-]?key"
    r"|private[_\-]?key|auth[_\-]?token|access[_\-]?token|refresh[_\-]?token|token|credentials?"
)


def _token(name: str, data_class: str, *regexes: str, score: float = 0.95) -> Detector:
    """A provider token detector: prefix-anchored patterns, no validator."""
    patterns = tuple(Pattern(f"{name}_{i}", regex, score) for i, regex in enumerate(regexes))
    return Detector(data_class, patterns)


DETECTORS: tuple[Detector, ...] = (
    Detector(
        c.SECRET_PRIVATE_KEY,
        (
            Pattern(
                "pem_private_key",
                r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[^\-]*"
                r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)?",
                1.0,
            ),
        ),
    ),
    Detector(
        c.SECRET_JWT,
        (Pattern("jwt", rf"\beyJ{_B64URL}{{5,}}\.{_B64URL}{{5,}}\.{_B64URL}*", 0.95),),
        v.jwt,
    ),
    _token("aws", c.SECRET_AWS_ACCESS_KEY, r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b"),
    _token(
        "github",
        c.SECRET_GITHUB_TOKEN,
        r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b",
        r"\bgithub_pat_[A-Za-z0-9_]{82}\b",
    ),
    _token(
        "gitlab",
        c.SECRET_GITLAB_TOKEN,
        r"\bgl(?:pat|ptt|dt|rt|cbt|imt|oas|ft|soat|agent)-[A-Za-z0-9_\-]{20,}",
    ),
    _token(
        "slack",
        c.SECRET_SLACK_TOKEN,
        r"\bxox[abposre]-[A-Za-z0-9\-]{10,}",
        r"\bxapp-[0-9]-[A-Za-z0-9\-]{10,}",
        r"\bhttps://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]+",
    ),
    _token(
        "stripe",
        c.SECRET_STRIPE_KEY,
        r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}\b",
        r"\bwhsec_[0-9A-Za-z]{24,}\b",
    ),
    _token(
        "anthropic",
        c.SECRET_ANTHROPIC_API_KEY,
        r"\bsk-ant-(?:api|admin|sid|oat)[0-9]{2}-[A-Za-z0-9_\-]{20,}",
    ),
    _token(
        "openai",
        c.SECRET_OPENAI_API_KEY,
        r"\bsk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,}",
        r"\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}\b",
        r"\bsk-[A-Za-z0-9]{48}\b",
    ),
    _token(
        "huggingface",
        c.SECRET_HUGGINGFACE_TOKEN,
        r"\bhf_[A-Za-z0-9]{34}\b",
        r"\bapi_org_[A-Za-z0-9]{34}\b",
    ),
    _token("npm", c.SECRET_NPM_TOKEN, r"\bnpm_[A-Za-z0-9]{36}\b"),
    _token(
        "pypi",
        c.SECRET_PYPI_TOKEN,
        r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}",
        r"\bpypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9_\-]{50,}",
    ),
    _token("sendgrid", c.SECRET_SENDGRID_KEY, rf"\bSG\.{_B64URL}{{22}}\.{_B64URL}{{43}}\b"),
    _token("mailchimp", c.SECRET_MAILCHIMP_KEY, r"\b[0-9a-f]{32}-us[0-9]{1,2}\b"),
    _token(
        "discord",
        c.SECRET_DISCORD_TOKEN,
        rf"\b[MNO]{_B64URL}{{23,25}}\.{_B64URL}{{6}}\.{_B64URL}{{27,38}}\b",
        r"\bhttps://(?:(?:canary|ptb)\.)?discord(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_\-]+",
    ),
    _token("telegram", c.SECRET_TELEGRAM_BOT_TOKEN, rf"\b[0-9]{{8,10}}:AA{_B64URL}{{33}}\b"),
    Detector(
        c.SECRET_HEROKU_API_KEY,
        (
            Pattern("heroku_0", rf"\bHRKU-AA{_B64URL}{{58}}\b", 0.95),
            Pattern(
                "heroku_context",
                r"(?i:heroku)" + _ASSIGN + _UUID + r"\b",
                0.85,
                value=rf"({_UUID})$",
            ),
        ),
    ),
    Detector(
        c.SECRET_BASIC_AUTH,
        (
            Pattern(
                "url_credentials",
                r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@\"'<>]+:[^\s/@\"'<>]+@",
                0.9,
                value=r"://([^@]+)@$",
            ),
            Pattern(
                "basic_header",
                r"\b(?i:basic) [A-Za-z0-9+/]{8,}={0,2}",
                0.8,
                value=r" ([A-Za-z0-9+/]+=*)$",
            ),
        ),
        v.basic_auth,
    ),
    Detector(
        c.SECRET_GENERIC,
        (
            Pattern(
                "password_assignment",
                r"[A-Za-z0-9_.\-]*(?i:" + _PASSWORD_WORDS + ")" + _ASSIGN + r"[^\s\"'`,;]{3,}",
                0.8,
                value=_ASSIGNED_VALUE,
            ),
            Pattern(
                "key_assignment",
                r"[A-Za-z0-9_.\-]*(?i:" + _KEY_WORDS + ")" + _ASSIGN + r"[^\s\"'`,;]{8,}",
                0.7,
                value=_ASSIGNED_VALUE,
            ),
            Pattern(
                "bearer",
                r"\b(?i:bearer) [A-Za-z0-9._~+/\-]{8,}=*",
                0.8,
                value=r" ([A-Za-z0-9._~+/\-]+=*)$",
            ),
        ),
        v.secret_value,
        value_regex=r"\S{8,}",
        strong=False,
    ),
)
