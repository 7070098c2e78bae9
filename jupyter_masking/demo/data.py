"""The demo company's rows, generated from a seed: the same seed gives the same rows.

Values are realistic enough to exercise detection and masking: card numbers pass
Luhn, IBANs pass mod-97, SSNs have a valid format (area not 000, 666 or 9xx), phones
use real North American number shapes in several formats, emails are on the reserved
``example.*`` domains. Randomness comes only from a seeded Faker and
``random.Random(seed)``; timestamps count from a fixed date, never from now.

>>> luhn_ok("4111111111111111"), luhn_ok("4111111111111112")
(True, False)
>>> iban_ok("DE89370400440532013000")
True
"""

from __future__ import annotations

import datetime as dt
import json
import random
import string
from dataclasses import dataclass
from decimal import Decimal

from faker import Faker

SIZES = {"customers": 500, "orders": 2000, "payments": 1500, "support_tickets": 400, "legacy": 300}
EPOCH = dt.datetime(2019, 1, 1, 9, 0, 0)
BIRTH_EPOCH = dt.date(1940, 1, 1)
STATUSES = ("pending", "paid", "shipped", "delivered", "refunded", "cancelled")
DOMAINS = ("example.com", "example.org", "example.net")
CARD_PREFIXES = (("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("37", 15), ("6011", 16))
IBAN_SHAPES = {"DE": "8n10n", "GB": "4a6n8n", "NL": "4a10n", "FR": "5n5n11n2n"}
SUBJECTS = (
    "Refund for order {order}",
    "Cannot log in",
    "Card declined",
    "Change of address",
    "Question about invoice {order}",
    "Update phone number",
)
BODIES = (
    "Hi, please reach me at {email} or {phone}. Order {order} never arrived.",
    "My card {card} was charged twice for order {order}. Call me on {phone}.",
    "I moved. New contact: {email}. Thanks, {name}",
    "Payment failed with card ending {last4}; full number {card}. Email {email}.",
    "Our integration broke; the key we use is {key}. Contact {email}.",
    "Please call {phone} after 5pm. Regards, {name}",
)


def luhn_ok(digits: str) -> bool:
    """Whether ``digits`` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _luhn_digit(partial: str) -> str:
    return next(str(d) for d in range(10) if luhn_ok(partial + str(d)))


def _iban_number(text: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in text))


def iban_ok(iban: str) -> bool:
    """Whether ``iban`` passes the ISO 13616 mod-97 check."""
    return _iban_number(iban[4:] + iban[:4]) % 97 == 1


@dataclass
class _Gen:
    """The seeded sources of randomness."""

    rng: random.Random
    fake: Faker

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(n))

    def card(self) -> str:
        prefix, length = self.rng.choice(CARD_PREFIXES)
        number = prefix + self.digits(length - len(prefix) - 1)
        number += _luhn_digit(number)
        if self.rng.random() < 0.3:
            return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
        return number

    def iban(self) -> str:
        country = self.rng.choice(sorted(IBAN_SHAPES))
        bban = ""
        for count, kind in _shape(IBAN_SHAPES[country]):
            pool = string.ascii_uppercase if kind == "a" else string.digits
            bban += "".join(self.rng.choice(pool) for _ in range(count))
        check = 98 - _iban_number(bban + country + "00") % 97
        return f"{country}{check:02d}{bban}"

    def ssn(self) -> str:
        area = self.rng.choice([a for a in range(1, 900) if a != 666])
        return f"{area:03d}-{self.rng.randint(1, 99):02d}-{self.rng.randint(1, 9999):04d}"

    def phone(self) -> str:
        area = self.rng.randint(201, 989)
        while area % 100 == 11 or str(area)[1] == "9":
            area = self.rng.randint(201, 989)
        exchange, line = self.rng.randint(200, 999), self.rng.randint(0, 9999)
        shapes = (
            f"({area}) {exchange}-{line:04d}",
            f"{area}-{exchange}-{line:04d}",
            f"+1 {area} {exchange} {line:04d}",
            f"{area}.{exchange}.{line:04d}",
        )
        return self.rng.choice(shapes)

    def api_key(self) -> str:
        alnum = string.ascii_letters + string.digits
        if self.rng.random() < 0.5:
            return "sk-" + "".join(self.rng.choice(alnum) for _ in range(48))
        upper = string.ascii_uppercase + string.digits
        return "AKIA" + "".join(self.rng.choice(upper) for _ in range(16))

    def moment(self, after: dt.datetime, days: int) -> dt.datetime:
        return after + dt.timedelta(seconds=self.rng.randint(60, days * 86_400))

    def money(self, low: int, high: int) -> Decimal:
        return Decimal(self.rng.randint(low * 100, high * 100)) / 100


def _shape(spec: str) -> list[tuple[int, str]]:
    """``"4a6n"`` -> ``[(4, "a"), (6, "n")]``."""
    parts: list[tuple[int, str]] = []
    number = ""
    for ch in spec:
        if ch.isdigit():
            number += ch
        else:
            parts.append((int(number), ch))
            number = ""
    return parts


Rows = dict[str, list[dict[str, object]]]


def generate(seed: int = 7) -> Rows:
    """Every demo table's rows as dicts, in table order."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    gen = _Gen(random.Random(seed), fake)  # noqa: S311 - reproducible fake data, not secrets
    customers = _customers(gen)
    orders = _orders(gen, customers)
    return {
        "customers": customers,
        "orders": orders,
        "payments": _payments(gen, orders),
        "support_tickets": _tickets(gen, customers, orders),
        "legacy_export": _legacy(gen),
    }


def _customers(gen: _Gen) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    for i in range(1, SIZES["customers"] + 1):
        first, last = gen.fake.first_name(), gen.fake.last_name()
        email = f"{first}.{last}".lower().replace("'", "") + f"@{gen.rng.choice(DOMAINS)}"
        if email in seen:
            email = email.replace("@", f"{i}@")
        seen.add(email)
        rows.append(
            {
                "id": i,
                "full_name": f"{first} {last}",
                "email": email,
                "phone": gen.phone(),
                "ssn": gen.ssn(),
                "date_of_birth": BIRTH_EPOCH + dt.timedelta(days=gen.rng.randint(0, 23_700)),
                "street": gen.fake.street_address(),
                "city": gen.fake.city(),
                "postal_code": gen.fake.zipcode(),
                "country": "US",
                "created_at": gen.moment(EPOCH, 1500),
            }
        )
    return rows


def _orders(gen: _Gen, customers: list[dict[str, object]]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(1, SIZES["orders"] + 1):
        customer = gen.rng.choice(customers)
        created = customer["created_at"]
        assert isinstance(created, dt.datetime)
        rows.append(
            {
                "id": i,
                "customer_id": customer["id"],
                "customer_email": customer["email"],
                "amount": gen.money(5, 2000),
                "status": gen.rng.choice(STATUSES),
                "ordered_at": gen.moment(created, 400),
                "product_code": f"SKU-{gen.rng.randint(1000, 9999)}",
            }
        )
    return rows


def _payments(gen: _Gen, orders: list[dict[str, object]]) -> list[dict[str, object]]:
    chosen = sorted(gen.rng.sample(range(len(orders)), SIZES["payments"]))
    rows: list[dict[str, object]] = []
    for i, index in enumerate(chosen, start=1):
        order = orders[index]
        ordered = order["ordered_at"]
        assert isinstance(ordered, dt.datetime)
        by_card = gen.rng.random() < 0.65
        rows.append(
            {
                "id": i,
                "order_id": order["id"],
                "card_number": gen.card() if by_card else None,
                "iban": None if by_card else gen.iban(),
                "amount": order["amount"],
                "paid_at": gen.moment(ordered, 3),
            }
        )
    return rows


def _tickets(
    gen: _Gen, customers: list[dict[str, object]], orders: list[dict[str, object]]
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(1, SIZES["support_tickets"] + 1):
        customer = gen.rng.choice(customers)
        order = gen.rng.choice(orders)
        card = gen.card()
        template = gen.rng.choice(BODIES)
        if "{key}" in template and gen.rng.random() < 0.6:
            template = BODIES[0]  # keys stay occasional
        values = {
            "email": customer["email"],
            "phone": customer["phone"],
            "name": customer["full_name"],
            "order": f"#{order['id']}",
            "card": card,
            "last4": card.replace(" ", "")[-4:],
            "key": gen.api_key(),
        }
        created = customer["created_at"]
        assert isinstance(created, dt.datetime)
        rows.append(
            {
                "id": i,
                "customer_id": customer["id"],
                "subject": gen.rng.choice(SUBJECTS).format(**values),
                "body": template.format(**values),
                "created_at": gen.moment(created, 600),
            }
        )
    return rows


def _legacy(gen: _Gen) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for _ in range(SIZES["legacy"]):
        email = gen.fake.user_name() + "@" + gen.rng.choice(DOMAINS)
        payload: dict[str, object] = {"contact": email, "note": gen.fake.sentence(nb_words=6)}
        if gen.rng.random() < 0.15:
            payload["api_key"] = gen.api_key()
        rows.append(
            {
                "c1": email,
                "c2": gen.phone(),
                "c3": gen.money(1, 5000),
                "payload": json.dumps(payload, sort_keys=True),
            }
        )
    return rows
