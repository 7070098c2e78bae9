"""The benchmark frame: 13 columns of customer orders, reproducible from a seed.

``build_frame(rows, seed)`` returns the same DataFrame for the same arguments and Faker
version (Faker's en_US providers, seeded per instance). Building 100k rows takes about
half a minute, so the result is cached as Parquet in the system temp directory.

Columns: name, email, phone, ssn, credit_card, iban, ip_address, date_of_birth, notes
(free text holding the row's name, phone and email), order_id, amount, order_date,
status. Every row gets fresh Faker values, so nearly all values are distinct: the
worst case for work-per-distinct-value designs.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import faker
import pandas as pd

NOTE_TEMPLATES = (
    "Called {name} at {phone} about the refund; follow up by mail to {email}.",
    "{name} ({email}) asked to change the delivery address for order {order}. Phone: {phone}",
    "Ticket reopened: customer says {email} never got the invoice. Call back {phone} "
    "before 5pm. -- {name}",
    "Spoke with {name}. New number {phone}, email {email}. Order {order} delayed, "
    "amount {amount} USD.",
    "Left a voicemail for {name} on {phone}; no answer yet. Email sent to {email} on {date}.",
    "VIP customer {name} prefers email ({email}) over phone ({phone}). Last order {order}.",
)
STATUSES = ("new", "paid", "shipped", "delivered", "returned", "cancelled")


def build_frame(rows: int = 100_000, seed: int = 42, cache: bool = True) -> pd.DataFrame:
    """The benchmark frame with ``rows`` rows generated from ``seed``."""
    path = Path(tempfile.gettempdir()) / "jupyter-masking-bench" / f"frame_{rows}_{seed}.parquet"
    if cache and path.exists():
        return pd.read_parquet(path)
    fake = faker.Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    records = []
    for i in range(rows):
        name, email, phone = fake.name(), fake.email(), fake.phone_number()
        order = f"ORD-{2020 + i % 6}-{i:06d}"
        amount = round(rng.uniform(3, 900), 2)
        order_date = fake.date_between("-3y", "today")
        note = rng.choice(NOTE_TEMPLATES).format(
            name=name, email=email, phone=phone, order=order, amount=amount, date=order_date
        )
        records.append(
            {
                "name": name,
                "email": email,
                "phone": phone,
                "ssn": fake.ssn(),
                "credit_card": fake.credit_card_number(),
                "iban": fake.iban(),
                "ip_address": fake.ipv4(),
                "date_of_birth": fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
                "notes": note,
                "order_id": 1_000_000 + i,
                "amount": amount,
                "order_date": pd.Timestamp(order_date),
                "status": rng.choice(STATUSES),
            }
        )
    frame = pd.DataFrame.from_records(records)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path)
    return frame


def ordinary_columns(rows: int = 10_000, seed: int = 42) -> pd.DataFrame:
    """Columns that hold nothing sensitive: ids, amounts, dates, product codes, UUIDs."""
    rng = random.Random(seed)
    fake = faker.Faker("en_US")
    fake.seed_instance(seed)
    return pd.DataFrame(
        {
            "order_id": [rng.randint(10**8, 10**10) for _ in range(rows)],
            "invoice_no": [str(rng.randint(10**8, 10**10 - 1)) for _ in range(rows)],
            "amount": [round(rng.uniform(0, 10_000), 2) for _ in range(rows)],
            "created": [fake.date_time_this_decade().isoformat(sep=" ") for _ in range(rows)],
            "product_code": [
                f"{fake.bothify('??-####').upper()}-{rng.randint(1, 99):02d}" for _ in range(rows)
            ],
            "sku": [fake.ean13() for _ in range(rows)],
            "uuid": [str(fake.uuid4()) for _ in range(rows)],
            "version": [
                f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}"
                for _ in range(rows)
            ],
            "status": [rng.choice(STATUSES) for _ in range(rows)],
        }
    )
