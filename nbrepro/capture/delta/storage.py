"""Storage options of object-store tables: what is recorded, and how nbrepro opens them again.

A notebook reading ``s3://lake/wine`` from an S3-compatible store passes its endpoint,
region and keys in ``storage_options`` (or the environment). nbrepro records only the
options that say *where* the table is and *how* to talk to it (endpoint, region, plain
HTTP, addressing style, profile name), never what proves *who* reads it (keys, tokens,
SAS, service-account JSON). When nbrepro itself opens the table later (pins checked before
a rerun, drift in ``list``/``show`` and the sidebar) it uses the recorded options, and
deltalake takes credentials from the environment (``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``,
an instance role, ...) as it does for any table.

An option is kept only when its name is known to be harmless: an unknown one may be a
secret.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from nbrepro.redact import strip_uri_credentials

# delta-rs / object_store option names (case-insensitive), with and without prefixes.
_SAFE = frozenset(
    {
        # S3 and S3-compatible stores
        "endpoint", "endpoint_url", "aws_endpoint", "aws_endpoint_url",
        "region", "aws_region", "default_region", "aws_default_region",
        "allow_http", "aws_allow_http",
        "virtual_hosted_style_request", "aws_virtual_hosted_style_request",
        "aws_s3_addressing_style", "aws_force_path_style",
        "aws_s3_locking_provider", "aws_s3_allow_unsafe_rename", "delta_dynamo_table_name",
        "aws_profile", "profile",
        "aws_unsigned_payload", "unsigned_payload", "aws_skip_signature", "skip_signature",
        "aws_checksum_algorithm", "checksum_algorithm", "aws_conditional_put",
        "aws_request_payer", "request_payer", "aws_s3_express", "s3_express",
        # Azure
        "azure_storage_account_name", "account_name", "azure_endpoint",
        "azure_storage_use_emulator", "azure_use_emulator", "use_emulator",
        "azure_use_fabric_endpoint", "use_fabric_endpoint",
        # any store (allow_invalid_certificates is never taken from a record)
        "timeout", "connect_timeout",
    }
)  # fmt: skip
_URL_VALUED = frozenset(
    {"endpoint", "endpoint_url", "aws_endpoint", "aws_endpoint_url", "azure_endpoint"}
)


def recordable_options(options: Mapping[str, object] | None) -> dict[str, str]:
    """The options of ``options`` safe to record: known names only, URLs without userinfo."""
    out: dict[str, str] = {}
    for key, value in (options or {}).items():
        name = str(key).lower()
        if name not in _SAFE or value is None:
            continue
        text = str(value)
        if name in _URL_VALUED:
            text = _endpoint_only(text)
        out[str(key)] = text
    return dict(sorted(out.items()))


def options_for_record(uri: str, given: Mapping[str, object] | None) -> dict[str, str]:
    """What to record of how a table was reached: the safe part of the options the code
    gave, and of the environment's (``AWS_ENDPOINT_URL``, ``AWS_REGION``, ...) for names
    the code did not give."""
    kept = recordable_options(given)
    if "://" not in uri or uri.startswith("file://"):
        return kept
    scheme = uri.partition("://")[0].lower()
    prefix = {"s3": "aws_", "s3a": "aws_", "az": "azure_", "abfs": "azure_", "abfss": "azure_"}
    wanted = prefix.get(scheme)
    if wanted is None:
        return {}
    env = {k: v for k, v in os.environ.items() if k.lower().startswith(wanted)}
    given_names = {k.lower() for k in kept}
    # What the code gave wins; the environment fills in the rest (an endpoint in
    # AWS_ENDPOINT_URL with a region in the options).
    from_env = {k: v for k, v in recordable_options(env).items() if k.lower() not in given_names}
    return dict(sorted({**from_env, **kept}.items()))


def _endpoint_only(url: str) -> str:
    """An endpoint without userinfo, query or fragment (tokens travel there)."""
    bare = strip_uri_credentials(url)
    return bare.split("?", 1)[0].split("#", 1)[0]


def options_of(read: Mapping[str, object]) -> dict[str, str] | None:
    """The recorded storage options of a read record (None for local tables)."""
    value = read.get("storage_options")
    if not isinstance(value, Mapping) or not value:
        return None
    return {str(k): str(v) for k, v in value.items()}


_ACCESS_DENIED = re.compile(
    r"credential|access ?denied|forbidden|unauthori[sz]ed|not authori[sz]ed|"
    r"invalidaccesskeyid|signaturedoesnotmatch|expiredtoken|authorizationfailure|"
    r"permission denied|\b(?:status(?: code)?:? ?|http )(?:401|403)\b",
    re.IGNORECASE,
)
_URI = re.compile(r"[a-z][a-z0-9+.-]*://\S+|/\S+", re.IGNORECASE)


def is_access_error(exc: BaseException) -> bool:
    """Whether opening a table failed for want of access (credentials, permissions), not
    because the table is not there. Paths and URIs in the message are not looked at."""
    return bool(_ACCESS_DENIED.search(_URI.sub(" ", str(exc))))


def access_hint(uri: str) -> str:
    """What to set so nbrepro (not only the notebook) can open an object-store table."""
    scheme = uri.partition("://")[0].lower()
    if scheme in ("s3", "s3a"):
        where = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
    elif scheme in ("az", "abfs", "abfss", "adl", "azure"):
        where = "AZURE_STORAGE_ACCOUNT_KEY (or another Azure credential)"
    elif scheme in ("gs", "gcs"):
        where = "GOOGLE_APPLICATION_CREDENTIALS"
    else:
        where = "the store's credentials"
    return (
        f"nbrepro opens the table with the endpoint and region the run recorded and takes "
        f"credentials from the environment: set {where} where nbrepro runs"
    )
