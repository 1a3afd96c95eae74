"""What nbrepro records of an object-store table's storage options, and how it tells a
table it may not open from one that is gone."""

from __future__ import annotations

import pytest

from nbrepro.capture.delta.storage import (
    is_access_error,
    options_for_record,
    recordable_options,
)


def test_only_known_harmless_options_are_recorded() -> None:
    given = {
        "AWS_ENDPOINT_URL": "http://AKIA:se/cret@minio:9000/?X-Amz-Security-Token=tok",
        "AWS_REGION": "eu-west-1",
        "AWS_ALLOW_HTTP": True,
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_SECRET_ACCESS_KEY": "se/cret",
        "AWS_SESSION_TOKEN": "tok",
        "azure_storage_sas_key": "sig",
        "allow_invalid_certificates": "true",  # never taken from a record
        "some_new_option": "may be a secret",
    }
    assert recordable_options(given) == {
        "AWS_ALLOW_HTTP": "True",
        "AWS_ENDPOINT_URL": "http://minio:9000/",
        "AWS_REGION": "eu-west-1",
    }


def test_the_environment_fills_in_what_the_code_did_not_give(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio:9000")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    got = options_for_record("s3://lake/t", {"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "k"})
    assert got == {"AWS_ENDPOINT_URL": "http://minio:9000", "AWS_REGION": "eu-west-1"}
    assert options_for_record("/local/t", {"AWS_REGION": "x"}) == {"AWS_REGION": "x"}
    assert options_for_record("/local/t", None) == {}


@pytest.mark.parametrize(
    ("message", "denied"),
    [
        ("Client error with status 403 Forbidden: <Code>AccessDenied</Code>", True),
        ("Generic S3 error: InvalidAccessKeyId: The key does not exist", True),
        ("Failed to get credentials from the environment", True),
        ("AuthorizationFailure: This request is not authorized", True),
        ("Error at s3://lake/runs/4031/_delta_log: status code: 500", False),
        ("table not found at /data/403/wine", False),
        ("Generic S3 error: error sending request: Connection refused", False),
    ],
)
def test_access_errors_are_told_by_their_words_not_their_paths(message: str, denied: bool) -> None:
    assert is_access_error(RuntimeError(message)) is denied
