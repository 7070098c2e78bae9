"""MaskingKey: sources, refusals, subkeys, and that the secret never shows."""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_masking.errors import ConfigError
from jupyter_masking.mask.keys import MaskingKey

MASTER = bytes(range(32))


def test_subkey_is_hmac_of_the_versioned_class_name() -> None:
    expected = hmac.new(MASTER, b"jupyter-masking/v1/pii.email", hashlib.sha256).hexdigest()
    assert MaskingKey(MASTER).subkey("pii.email") == expected


def test_subkeys_differ_per_class_and_change_when_the_master_rotates() -> None:
    key, rotated = MaskingKey(MASTER), MaskingKey(bytes(range(1, 33)))
    assert key.subkey("pii.email") != key.subkey("pii.phone")
    assert key.subkey("pii.email") != rotated.subkey("pii.email")
    assert key.fingerprint() != rotated.fingerprint()


def test_when_key_is_shorter_than_32_bytes_then_it_is_refused() -> None:
    with pytest.raises(ConfigError, match="too short \\(31 bytes\\)"):
        MaskingKey(b"x" * 31)
    with pytest.raises(ConfigError, match="too short"):
        MaskingKey.from_text("ab" * 31)  # 62 hex digits = 31 bytes


@pytest.mark.parametrize(
    "text",
    [
        MASTER.hex(),
        MASTER.hex().upper(),
        "base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        f"  {MASTER.hex()}\n",
    ],
)
def test_key_text_forms_decode_to_the_same_key(text: str) -> None:
    assert MaskingKey.from_text(text) == MaskingKey(MASTER)


def test_when_base64_is_malformed_then_a_clear_error_without_the_value() -> None:
    with pytest.raises(ConfigError) as error:
        MaskingKey.from_text("base64:not*valid*base64*at*all*" * 3)
    assert "not valid base64" in str(error.value)
    assert "not*valid" not in str(error.value)


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JM_TEST_KEY", MASTER.hex())
    assert MaskingKey.from_env("JM_TEST_KEY") == MaskingKey(MASTER)
    monkeypatch.delenv("JM_TEST_KEY")
    with pytest.raises(ConfigError, match="JM_TEST_KEY is not set"):
        MaskingKey.from_env("JM_TEST_KEY")


def test_from_file_accepts_owner_only_and_refuses_world_readable(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text(MASTER.hex())
    path.chmod(0o600)
    assert MaskingKey.from_file(path) == MaskingKey(MASTER)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable or writable by every user") as error:
        MaskingKey.from_file(path)
    assert error.value.hint == f"run: chmod 600 {path}"
    path.chmod(0o602)
    with pytest.raises(ConfigError, match="every user"):
        MaskingKey.from_file(path)


def test_from_file_refuses_missing_files_and_directories(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read masking key file"):
        MaskingKey.from_file(tmp_path / "absent")
    with pytest.raises(ConfigError, match="not a regular file"):
        MaskingKey.from_file(tmp_path)


def test_the_secret_never_shows_in_repr_str_or_pickle() -> None:
    key = MaskingKey(b"S3cr3t-master-key-that-is-long-enough!")
    for text in (repr(key), str(key), f"{key}", repr([key])):
        assert "S3cr3t" not in text
        assert key.to_text() not in text
    assert repr(key) == f"MaskingKey(fingerprint={key.fingerprint()!r})"
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(key)


def test_generated_keys_are_distinct_and_round_trip_through_text() -> None:
    first, second = MaskingKey.generate(), MaskingKey.generate()
    assert first != second
    assert MaskingKey.from_text(first.to_text()) == first


def test_subkeys_are_identical_in_another_process() -> None:
    code = (
        "from jupyter_masking.mask.keys import MaskingKey;"
        "print(MaskingKey.from_env('JM_TEST_KEY').subkey('pii.email'))"
    )
    env = {**os.environ, "JM_TEST_KEY": MASTER.hex()}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == MaskingKey(MASTER).subkey("pii.email")
