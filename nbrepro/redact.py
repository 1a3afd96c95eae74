"""Keep secrets on this machine: secret names, credentials in URIs, literal secret values.

Everything nbrepro records (the record, artifacts, tags) passes through this module.
The rules err on the side of removing too much: a false positive costs a little
information in a reproducibility record, a leak costs a rotated credential.

* Environment variables whose *name* looks secret (:data:`SECRET_NAME_RE`) are never
  recorded, and their values (6 characters or more) are replaced by ``[REDACTED]``
  wherever they appear in recorded text.
* URIs lose their userinfo (``scheme://user:pass@host`` becomes ``scheme://host``)
  and secret-looking query parameters (SAS ``sig``, presigned-URL signatures, tokens).

Parsing here is done by hand rather than with :func:`urllib.parse.urlsplit`, which
raises on some malformed input (e.g. a bad IPv6 host) and gets AWS secret keys with
an unescaped ``/`` in ``s3://key:secret@bucket`` wrong.
"""

from __future__ import annotations

import fnmatch
import html
import json
import os
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

REDACTED = "[REDACTED]"

# Shorter values would be replaced all over a record (a 4-letter password matches words).
MIN_SECRET_LENGTH = 6

SECRET_NAME_RE = re.compile(
    r"""
    ^(?!(?:OLD)?PWD$)                   # the shell's working directories, not passwords
    (?:
        .*(?:TOKEN(?!IZER)|SECRET|PASSW|PASSPHRASE|CREDENTIAL|SIGNATURE|COOKIE|PRIVATE
            |AUTH(?!OR)|APIKEY|ACCESSKEY|SESSION_?ID|CONN(?:ECTION)?_?STR|WEBHOOK|SALT)
      | (?:.*[_.\-])?                  # as one separated part of the name ...
        (?:KEYS?|PWD|PASS|PW|PAT|SAS|SIG|DSN|CERT|CREDS?|JWT|OTP|BEARER)
        (?:[_.\-].*)?$
      | .*(?:KEY|PWD)$                  # ... or glued on at the end: SSHKEY, DBPWD
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)

# Query parameters removed from URIs besides those with secret-looking names.
SECRET_QUERY_PARAMS = frozenset(
    {
        "sig",  # Azure SAS signature; the other SAS fields (sv, se, sp, ...) are harmless
        "signature",
        "token",
        "access_token",
        "id_token",
        "refresh_token",
        "api_key",
        "apikey",
        "key",
        "password",
        "passwd",
        "pwd",
        "secret",
        "client_secret",
        "code",
        "auth",
        "sas",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
    }
)

# A lone user name is needed to connect over these schemes and is not a secret.
_KEEP_USER_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git", "sftp"})

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_SCP_RE = re.compile(r"^([^@/:\s]+):([^@/\s]*)@([^:/\s]+):(.*)$", re.DOTALL)
_HOST_PORT_RE = re.compile(r"^[^:]*:\d*$")
# Stops at quotes and backslashes so URIs inside JSON strings keep their delimiters. No
# word boundary before the scheme: a URI right after a letter (text in Chinese or Japanese
# runs into it, "请访问https://u:p@host") or a "_" is stripped all the same.
_URI_IN_TEXT_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>`\\]+")
_SCHEME_CHARS = frozenset(string.ascii_letters + string.digits + "+.-")  # as in the pattern


def is_secret_name(name: str) -> bool:
    """Whether an environment variable (or query parameter) name suggests a secret.

    Args:
        name: The variable name, any case.

    Returns:
        True for names such as ``HF_TOKEN``, ``DB_PWD``, ``AWS_SECRET_ACCESS_KEY``,
        ``SENTRY_DSN``; False for ``PWD``, ``OLDPWD``, ``KEYBOARD``, ``GIT_AUTHOR_NAME``.
    """
    return bool(SECRET_NAME_RE.match(name))


def _is_secret_param(name: str) -> bool:
    plain = unquote(name).strip().lower()
    return plain in SECRET_QUERY_PARAMS or is_secret_name(plain)


def _split_uri(uri: str) -> tuple[str, str | None, str] | None:
    """``(scheme://, userinfo or None, rest)`` for a ``scheme://`` URI, else None."""
    m = _SCHEME_RE.match(uri)
    if not m:
        return None
    head, tail = m.group(0), uri[m.end() :]
    end = len(tail)
    for sep in "?#":
        idx = tail.find(sep)
        if idx != -1:
            end = min(end, idx)
    before_query = tail[:end]
    at = before_query.rfind("@")
    if at == -1:
        return head, None, tail
    userinfo = before_query[:at]
    if "/" in userinfo:
        # Either a path containing "@" (https://host/@scope/pkg) or a password containing
        # "/" (AWS secret keys): only the second has a non-port ":" before the first "/".
        first = userinfo.split("/", 1)[0]
        if ":" not in first or _HOST_PORT_RE.match(first):
            return head, None, tail
    return head, userinfo, tail[at + 1 :]


def _filter_params(part: str) -> str:
    """Drop secret ``name=value`` items from a query or fragment; keeps the others verbatim."""
    if "=" not in part:
        return part
    kept = [item for item in part.split("&") if not _is_secret_param(item.split("=", 1)[0])]
    return "&".join(kept)


def strip_uri_credentials(uri: str) -> str:
    """Remove userinfo and secret query parameters from a URI.

    ``https://user:tok@host/p?sig=x&a=1`` becomes ``https://host/p?a=1``. Over ssh a lone
    user name is kept (``ssh://git@host/r``, ``git@host:org/r.git``) but a password is not.
    Strings that are not URIs, such as local paths, come back unchanged.

    Args:
        uri: Any string; malformed input never raises.

    Returns:
        The URI without credentials.
    """
    if not isinstance(uri, str):
        return uri
    parts = _split_uri(uri)
    if parts is None:
        scp = _SCP_RE.match(uri)
        if scp:
            user, _password, host, path = scp.groups()
            return f"{user}@{host}:{path}"
        return uri
    head, userinfo, rest = parts
    scheme = head[:-3].lower()
    prefix = head
    if userinfo is not None and scheme in _KEEP_USER_SCHEMES:
        user = userinfo.split(":", 1)[0]
        prefix = f"{head}{user}@" if user else head
    path, hash_sign, fragment = rest.partition("#")
    path, q_sign, query = path.partition("?")
    if q_sign:
        query = _filter_params(query)
        q_sign = "?" if query else ""
    if hash_sign:
        fragment = _filter_params(fragment)
        hash_sign = "#" if fragment else ""
    return f"{prefix}{path}{q_sign}{query}{hash_sign}{fragment}"


def _uri_secrets(uri: str) -> list[str]:
    """The credential strings in one URI: password (or a lone user), secret query values."""
    found: list[str] = []
    parts = _split_uri(uri)
    if parts is None:
        return found
    head, userinfo, rest = parts
    if userinfo:
        user, colon, password = userinfo.partition(":")
        if colon:
            found.append(password)
        elif head[:-3].lower() not in _KEEP_USER_SCHEMES:
            # A lone user name is often a token: https://ghp_xxx@github.com/...
            found.append(user)
    for part in rest.split("#", 1)[0].partition("?")[2], rest.partition("#")[2]:
        for item in part.split("&"):
            name, eq, value = item.partition("=")
            if eq and _is_secret_param(name):
                found.append(value)
    return found


def _usable(values: Iterable[str]) -> list[str]:
    """Long enough, not numeric (digits would corrupt numbers in JSON), deduplicated."""
    out: set[str] = set()
    for value in values:
        for variant in (value, unquote(value)):
            v = variant.strip()
            if len(v) >= MIN_SECRET_LENGTH and not re.fullmatch(r"[\d\s.,:+\-]*", v):
                out.add(v)
    return sorted(out, key=lambda s: (-len(s), s))


def keyed_digest(value: str) -> str:
    """A short HMAC-SHA256 of ``value`` under this machine's key (``$NBREPRO_HOME/digest.key``).

    Two captures on this machine can tell whether a secret-named value changed without
    either recording it: without the key, the digest says nothing of the value, even a
    short one. On another machine (another key) the same value digests differently.
    """
    import hashlib
    import hmac

    from nbrepro.paths import digest_key

    return hmac.new(digest_key(), value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The secret strings present in an environment, to be replaced by :func:`redact_text`.

    These are the values of secret-named variables, plus the passwords (or lone user names,
    often tokens) and secret query values of every URI found in any variable's value. Values shorter
    than :data:`MIN_SECRET_LENGTH` or made only of digits are left out: replacing them
    everywhere would mangle unrelated text and numbers in JSON.

    Args:
        environ: Usually ``os.environ``.

    Returns:
        Distinct values, longest first (so a secret containing another is replaced whole).
    """
    items = tuple(environ.items())
    try:
        found = _secrets_of.get(items)
    except TypeError:  # a value that is not hashable (not an environment's)
        return _secrets_of_items(items)
    if found is None:
        found = _secrets_of_items(items)
        _secrets_of.clear()  # the one environment seen last: it seldom changes
        _secrets_of[items] = found
    return list(found)


_secrets_of: dict[tuple[tuple[Any, Any], ...], list[str]] = {}


def _secrets_of_items(items: Iterable[tuple[Any, Any]]) -> list[str]:
    candidates: list[str] = []
    for name, value in items:
        if not isinstance(value, str):
            continue
        if is_secret_name(name):
            candidates.append(value)
        if "://" in value:
            for m in _URI_IN_TEXT_RE.finditer(value):
                candidates.extend(_uri_secrets(m.group(0)))
    return _usable(candidates)


def strip_uris_in_text(text: str) -> str:
    """Apply :func:`strip_uri_credentials` to every ``scheme://`` URI inside free text.

    Args:
        text: Any text, e.g. a log, a diff or a JSON document.

    Returns:
        The text with credentials removed from its URIs.
    """
    if "://" not in text:
        return text
    # What ``_URI_IN_TEXT_RE.sub`` does, without trying the pattern at every word of a
    # long text (a capture's record is one line): a URI's scheme runs up to its "://"
    # without a break, so no match starts before that run, and the search starts there.
    out: list[str] = []
    pos = 0  # where re.sub would scan on from: the text before it is written out
    found = text.find("://")
    while found >= 0:
        start = found
        while start > pos and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        m = _URI_IN_TEXT_RE.search(text, start)
        if m is None:
            break
        out += (text[pos : m.start()], strip_uri_credentials(m.group(0)))
        pos = m.end()
        found = text.find("://", pos)
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def safe_message(text: str) -> str:
    """A message fit to show or keep: no URI credentials, no secret of this environment.

    For nbrepro's own warnings and errors, whose text often quotes an exception that
    quotes a store URI, a connection string or a request's headers.
    """
    return redact_text(text, secret_values(os.environ))


def redact_text(text: str, secrets: Sequence[str]) -> str:
    """Replace secret values by ``[REDACTED]`` and strip credentials from URIs in text.

    A secret is also found in its JSON-escaped forms (so JSON documents can be redacted
    as text and still parse afterwards) and its HTML-escaped ones.

    Args:
        text: Free text: a serialized record, a notebook, a diff, a tag value.
        secrets: Literal values to remove, e.g. from :func:`secret_values`.

    Returns:
        The redacted text.
    """
    if secrets:
        variants: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            variants.add(secret)
            # As JSON writes it (ASCII-only, or not: Jupyter writes .ipynb files with
            # ensure_ascii=False) and as HTML writes it (text, attribute values).
            variants.add(json.dumps(secret)[1:-1])
            variants.add(json.dumps(secret, ensure_ascii=False)[1:-1])
            variants.add(html.escape(secret, quote=False))
            variants.add(html.escape(secret))
        ordered = sorted(variants, key=lambda s: (-len(s), s))
        pattern = re.compile("|".join(re.escape(s) for s in ordered))
        text = pattern.sub(REDACTED, text)
    return strip_uris_in_text(text)


def redact_env(environ: Mapping[str, str], allow: Sequence[str]) -> dict[str, str]:
    """The allowlisted environment variables, fit to record.

    Args:
        environ: Usually ``os.environ``.
        allow: Exact names or shell-style patterns (``OMP_*``), matched case-sensitively.

    Returns:
        Name to value, sorted by name. Secret-named variables are dropped even when
        allowlisted; values have credentials stripped from any URIs they contain.
    """
    out: dict[str, str] = {}
    for name in sorted(environ):
        if is_secret_name(name) or not any(fnmatch.fnmatchcase(name, p) for p in allow):
            continue
        value = environ[name]
        out[name] = strip_uris_in_text(strip_uri_credentials(value))
    return out
