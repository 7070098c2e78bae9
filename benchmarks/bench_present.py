"""Presenting pseudonyms for 1,000,000 rows with 100,000 distinct values, next to pd.factorize.

The contract (brief B): ``present`` within 10x of ``pd.factorize`` on the same column.
The column holds tokens as the database returns them (64 hex characters, or a shape
prefix + 64 hex for cards and IPs). Each figure is the best of ``REPEAT`` runs.

Run: python benchmarks/bench_present.py [rows] [distinct]
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from jupyter_masking.mask import MaskingKey, present, pseudonym_tokens, token_many

REPEAT = 3
CLASSES = (
    "pii.email",
    "pii.person_name",
    "pii.phone",
    "financial.credit_card",
    "financial.iban",
    "pii.ip_address",
    "gov_id.us_ssn",
    "health.us_npi",
)


def best(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    distinct = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    key = MaskingKey(hashlib.sha256(b"benchmark key").digest())
    rng = np.random.default_rng(7)
    codes = rng.integers(0, distinct, rows)
    raw_uniques = np.array([f"user{i}@corp.example" for i in range(distinct)], dtype=object)
    raw = pd.Series(raw_uniques[codes], dtype="str")

    versions = (
        f"Python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}"
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {versions}")
    print(f"column: {rows:,} rows, {distinct:,} distinct values\n")
    print(f"{'class':24} {'dtype':6} {'factorize':>10} {'present':>10} {'ratio':>7}")
    for data_class in CLASSES:
        subkey = key.subkey(data_class)
        uniques = pseudonym_tokens(pd.Series(raw_uniques), data_class, subkey)
        tokens_str = pd.Series(uniques.to_numpy()[codes], dtype="str")
        for label, column in (("str", tokens_str), ("object", tokens_str.astype(object))):
            base = best(lambda c=column: pd.factorize(c))
            took = best(lambda c=column, d=data_class: present(d, c))
            times = f"{base * 1e3:8.1f}ms {took * 1e3:8.1f}ms {took / base:6.1f}x"
            print(f"{data_class:24} {label:6} {times}")

    print("\nPython-side pseudonyms from raw values (result scan path), pii.email:")
    subkey = key.subkey("pii.email")
    base = best(lambda: pd.factorize(raw))
    tokens_time = best(lambda: token_many(subkey, raw))
    full = best(lambda: present("pii.email", token_many(subkey, raw)))
    print(f"  pd.factorize(raw)       {base * 1e3:8.1f}ms")
    print(f"  token_many              {tokens_time * 1e3:8.1f}ms  {tokens_time / base:5.1f}x")
    print(f"  token_many + present    {full * 1e3:8.1f}ms  {full / base:5.1f}x")


if __name__ == "__main__":
    main()
