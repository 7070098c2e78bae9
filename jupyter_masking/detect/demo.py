"""A small built-in demo: free-text lines with planted values and a customer table.

All values are synthetic: names from the word lists, phone numbers in the reserved
555-01xx range, card and IBAN numbers built to pass their checksums, keys in their
published shapes. The table is generated from a fixed seed, so the demo prints the
same thing on every run.

>>> len(DEMO_LINES), list(demo_frame(5).columns)[:3]
(12, ['customer_name', 'email', 'phone_no'])
"""

from __future__ import annotations

import random
from typing import IO, Any

from jupyter_masking.detect import wordlists
from jupyter_masking.detect.validators import IBAN_LENGTHS, luhn_digits

DEMO_LINES: tuple[str, ...] = (
    "Hi, this is Emily Johnson, call me back at (555) 010-0199 or mail emily.j@example.com.",
    "Refund approved for card 4111 1111 1111 1111; the one ending 1112 was a typo.",
    "Customer SSN 078-05-1120 verified; order ORD-2024-001 ships on 2024-03-15 (USD 129.90).",
    "Wire to IBAN GB82 WEST 1234 5698 7654 32 before Friday, routing number 011000015.",
    "Deploy log: AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE region=us-east-1",
    '{"user": "dbadmin", "password": "hunter2", "host": "10.20.30.40"}',
    "curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl' api",
    "Old GitHub token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 was revoked.",
    "Patient NHS number 943 476 5919, MBI 1EG4-TE5-MK73, seen by Dr. Patel.",
    "Connect with postgresql://report:s3cr3t@db.internal:5432/sales",
    "Ticket #4412: printer on floor 3 is jammed again, no personal data here.",
    "Tracking id 9400110200881234567890, weight 2.5 kg, delivered 14:32.",
)

_STATUSES = ("new", "paid", "shipped", "delivered", "returned")


def _card(rng: random.Random) -> str:
    body = "4" + "".join(rng.choice("0123456789") for _ in range(14))
    check = next(d for d in "0123456789" if luhn_digits(body + d))
    number = body + check
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


def _iban(rng: random.Random, country: str = "DE") -> str:
    bban = "".join(rng.choice("0123456789") for _ in range(IBAN_LENGTHS[country] - 4))
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def _ssn(rng: random.Random) -> str:
    return f"{rng.randint(1, 665):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def demo_frame(rows: int = 200, seed: int = 7) -> Any:
    """A customer table with one column per kind of content, reproducible from ``seed``.

    Args:
        rows: Number of rows.
        seed: Seed of the generator.

    Returns:
        A pandas DataFrame.
    """
    import pandas as pd

    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    first, last = wordlists.first_names(("en_US",)), wordlists.last_names(("en_US",))
    records = []
    for i in range(rows):
        given, family = rng.choice(first), rng.choice(last)
        email = f"{given.lower()}.{family.lower()}{i}@example.com"
        phone = f"(555) 01{rng.randint(0, 9)}-{rng.randint(0, 9999):04d}"
        records.append(
            {
                "customer_name": f"{given} {family}",
                "email": email,
                "phone_no": phone,
                "ssn": _ssn(rng),
                "cc_number": _card(rng),
                "iban": _iban(rng),
                "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                "order_id": 100000 + i,
                "amount": round(rng.uniform(5, 500), 2),
                "status": rng.choice(_STATUSES),
                "notes": f"{given} {family} asked for a call on {phone} or mail to {email}.",
            }
        )
    return pd.DataFrame.from_records(records)


def _marked(text: str) -> str:
    from jupyter_masking.detect.spans import find_spans

    out, last = [], 0
    for found in find_spans(text):
        out += [text[last : found.start], f"<{found.data_class}>"]
        last = found.end
    return "".join([*out, text[last:]])


def print_demo(out: IO[str]) -> None:
    """Scan :data:`DEMO_LINES` and classify :func:`demo_frame`, printing both readably."""
    from jupyter_masking.detect.columns import classify_frame

    out.write("Free text: each line, then the same line with every finding replaced\n\n")
    for number, line in enumerate(DEMO_LINES, 1):
        out.write(f"{number:3}  {line}\n  ->  {_marked(line)}\n")
    frame = demo_frame()
    out.write(f"\nColumns of a {len(frame)}-row customer table\n\n")
    out.write(f"{'column':15} {'class':24} {'conf':>5}  evidence\n")
    for column, result in classify_frame(frame).items():
        label = result.data_class or ("free text" if result.free_text else "-")
        out.write(f"{column:15} {label:24} {result.confidence:5.2f}  {result.evidence}\n")
        if result.span_classes:
            out.write(f"{'':47}spans: {', '.join(result.span_classes)}\n")
