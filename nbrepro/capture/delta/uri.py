"""The canonical form of a Delta table uri: the key of records, pins and drift.

* local tables: the absolute, symlink-resolved path without ``file://`` and without a
  trailing slash (``/data/sales``); ``file://`` uris are decoded to that same form;
* object stores: ``scheme://bucket/path`` with the scheme lower-cased, userinfo and
  secret-looking query parameters removed and no trailing slash (``s3://bucket/sales``).
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")
_SECRET_NAMES = frozenset({"sig", "sas", "auth", "code", "pwd"})
_SECRET_PARTS = ("token", "secret", "passw", "signature", "credential", "key", "x-amz-", "x-goog-")
_URI_CACHE: dict[str, str] = {}


def is_object_store(uri: str) -> bool:
    """Whether ``uri`` names an object store (``s3://``, ``az://``...) rather than a path."""
    return SCHEME.match(uri) is not None


def _strip_credentials(uri: str) -> str:
    """Drop userinfo and secret-looking query parameters from an object-store uri."""
    parts = urlsplit(uri)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _SECRET_NAMES and not any(s in k.lower() for s in _SECRET_PARTS)
    ]
    out = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
    return f"{out}?{urlencode(query)}" if query else out


def normalize_uri(uri: str | os.PathLike[str]) -> str:
    """Return the canonical, credential-free form of a table uri (see the module docstring).

    Args:
        uri: A local path, ``file://`` uri or object-store uri.

    Returns:
        The canonical uri used as the key of records and pins.
    """
    raw = os.fspath(uri)
    cached = _URI_CACHE.get(raw)
    if cached is not None:
        return cached
    match = SCHEME.match(raw)
    if match is None:
        result = os.path.realpath(raw)
    elif match.group(1).lower() == "file":
        path = unquote(urlsplit(raw).path)
        result = os.path.realpath(path[1:] if re.match(r"^/[A-Za-z]:", path) else path)
    else:
        # Imported here: its patterns cost a kernel ~7 ms at load, and most tables are local.
        from nbrepro.redact import strip_uri_credentials

        clean = _strip_credentials(strip_uri_credentials(raw))
        base, sep, query = clean.partition("?")
        scheme, _, rest = base.partition("://")
        result = f"{scheme.lower()}://{rest.rstrip('/')}{sep}{query}"
    # Relative paths depend on the working directory, so only cwd-independent input is cached.
    if match is not None or os.path.isabs(raw):
        if len(_URI_CACHE) > 1024:
            _URI_CACHE.clear()
        _URI_CACHE[raw] = result
    return result
