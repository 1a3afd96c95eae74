"""Secrets never leave the machine: names, URIs, literal values."""

from __future__ import annotations

import json

import pytest

from nbrepro.redact import (
    _URI_IN_TEXT_RE,
    REDACTED,
    is_secret_name,
    redact_env,
    redact_text,
    secret_values,
    strip_uri_credentials,
    strip_uris_in_text,
)


@pytest.mark.parametrize(
    "name",
    [
        "HF_TOKEN",
        "GITHUB_TOKEN",
        "MY_API_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "OPENAI_API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "SSHKEY",
        "GPG_KEY",
        "MLFLOW_TRACKING_PASSWORD",
        "DB_PASSWD",
        "DB_PWD",
        "DBPWD",
        "DB_PASS",
        "AZURE_STORAGE_SAS_TOKEN",
        "AZURE_STORAGE_CONNECTION_STRING",
        "SENTRY_DSN",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "BASIC_AUTH",
        "OAUTH_CLIENT",
        "SESSION_ID",
        "SLACK_WEBHOOK_URL",
        "REQUEST_SIGNATURE",
        "BROWSER_COOKIE",
        "CLIENT_CERT",
        "GH_PAT",
        "jupyter_token",
        "x-amz-security-token",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "PWD",
        "OLDPWD",
        "KEYBOARD",
        "XKB_KEYMAP",
        "PATH",
        "HOME",
        "LANG",
        "MLFLOW_TRACKING_URI",
        "MLFLOW_TRACKING_USERNAME",
        "OMP_NUM_THREADS",
        "PYTHONHASHSEED",
        "CUDA_VISIBLE_DEVICES",
        "GIT_AUTHOR_NAME",
        "TOKENIZERS_PARALLELISM",
        "XDG_SESSION_TYPE",
    ],
)
def test_not_secret_names(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://AKIAEXAMPLE:wJalr/XUtnFEMI+K7MDENG@bucket/data", "s3://bucket/data"),
        ("s3://bucket/path/table", "s3://bucket/path/table"),
        (
            "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&ss=b&sp=r&se=2030-01-01&sig=abc%2Bdef",
            "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&ss=b&sp=r&se=2030-01-01",
        ),
        (
            "https://b.s3.amazonaws.com/k.parquet?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIA%2F20240101&X-Amz-Date=20240101T000000Z"
            "&X-Amz-Security-Token=FwoG&X-Amz-Signature=deadbeef",
            "https://b.s3.amazonaws.com/k.parquet?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Date=20240101T000000Z",
        ),
        (
            "https://storage.googleapis.com/b/o?X-Goog-Credential=x&X-Goog-Signature=y",
            "https://storage.googleapis.com/b/o",
        ),
        ("https://h/api?token=t0k3n&page=2", "https://h/api?page=2"),
        ("https://h/api?access_token=a&api_key=b&my_secret=c&q=1", "https://h/api?q=1"),
        ("https://h/cb#access_token=abc&state=xyz", "https://h/cb#state=xyz"),
        ("postgresql://u:p@h:5432/db", "postgresql://h:5432/db"),
        ("https://user:pw@mlflow.example.com/", "https://mlflow.example.com/"),
        ("https://ghp_token@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("https://u:p@ss@host/x", "https://host/x"),
        ("ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"),
        ("ssh://git:pw@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("user:hunter2@host:org/repo.git", "user@host:org/repo.git"),
        ("https://registry.npmjs.org/@scope/pkg", "https://registry.npmjs.org/@scope/pkg"),
        ("https://host:8080/a/@b", "https://host:8080/a/@b"),
        ("file:///home/me/data", "file:///home/me/data"),
        ("/home/me/data/table", "/home/me/data/table"),
        ("./rel/path@2x.png", "./rel/path@2x.png"),
        ("C:\\Users\\me\\data", "C:\\Users\\me\\data"),
        ("", ""),
    ],
)
def test_strip_uri_credentials(uri: str, expected: str) -> None:
    assert strip_uri_credentials(uri) == expected


@pytest.mark.parametrize(
    "junk", ["http://[::1", "://", "a://@", "x://u:@/?&=#&=", "@@@:", "s3://:@", "\x00://\n"]
)
def test_strip_never_raises(junk: str) -> None:
    assert isinstance(strip_uri_credentials(junk), str)


def test_secret_values() -> None:
    environ = {
        "MY_API_TOKEN": "s3cr3t-value",
        "SHORT_TOKEN": "abc",  # too short to replace everywhere
        "NUMERIC_PIN_KEY": "12345678",  # would corrupt numbers in JSON
        "MLFLOW_TRACKING_URI": "https://alice.smith:pa55word!@mlflow.example.com/",
        "DATA_URL": "https://h/f?sig=signature-abc&sv=2020",
        "PIP_EXTRA_INDEX_URL": "https://a.example/simple https://tok-12345678@b.example/simple",
        "HOME": "/home/alice",
    }
    values = secret_values(environ)
    assert "s3cr3t-value" in values
    assert "pa55word!" in values
    assert "signature-abc" in values
    assert "tok-12345678" in values
    assert "abc" not in values and "12345678" not in values and "/home/alice" not in values
    assert "alice.smith" not in values  # a user name beside a password is not the secret
    assert [len(v) for v in values] == sorted((len(v) for v in values), reverse=True)


def test_redact_text_multiline() -> None:
    secrets = ["s3cr3t-value", "pa55word!"]
    text = (
        "token is s3cr3t-value\n"
        "connecting to postgresql://bob:dbpass@db.internal:5432/prod\n"
        "download https://b.s3.amazonaws.com/k?X-Amz-Signature=ff00&X-Amz-Date=1 done\n"
        "remote git@github.com:org/repo.git and /tmp/local@path\n"
        "again pa55word! and s3cr3t-value.\n"
    )
    out = redact_text(text, secrets)
    assert "s3cr3t-value" not in out and "pa55word!" not in out
    assert "dbpass" not in out and "bob" not in out
    assert "postgresql://db.internal:5432/prod" in out
    assert "https://b.s3.amazonaws.com/k?X-Amz-Date=1 done" in out
    assert "git@github.com:org/repo.git and /tmp/local@path" in out
    assert out.count(REDACTED) == 3
    assert out.count("\n") == text.count("\n")


def test_redact_text_keeps_json_valid() -> None:
    secret = 'q"uo\\te-secret'
    doc = {
        "a": f"value {secret}",
        "uri": "https://u:p@host/x?sig=zz",
        "n": [1234567, 1.5],
        "nested": {"k": secret},
    }
    out = json.loads(redact_text(json.dumps(doc), [secret]))
    assert out == {
        "a": f"value {REDACTED}",
        "uri": "https://host/x",
        "n": [1234567, 1.5],
        "nested": {"k": REDACTED},
    }


def test_redact_env() -> None:
    environ = {
        "MY_API_TOKEN": "s3cr3t-value",
        "MLFLOW_TRACKING_PASSWORD": "hunter22",
        "MLFLOW_TRACKING_URI": "https://user:pw@host/",
        "MLFLOW_EXPERIMENT_NAME": "exp",
        "OMP_NUM_THREADS": "4",
        "PYTHONHASHSEED": "0",
        "HOME": "/root",
    }
    allow = ["MY_*", "MLFLOW_*", "OMP_*", "PYTHONHASHSEED", "MLFLOW_TRACKING_PASSWORD"]
    assert redact_env(environ, allow) == {
        "MLFLOW_EXPERIMENT_NAME": "exp",
        "MLFLOW_TRACKING_URI": "https://host/",
        "OMP_NUM_THREADS": "4",
        "PYTHONHASHSEED": "0",
    }
    assert redact_env(environ, []) == {}


@pytest.mark.parametrize("secret", ['pä"ss-word1', "pässwörd\x01x", "a'b<c&d>e-long"])
def test_secrets_are_found_as_json_and_html_write_them(secret: str) -> None:
    """JSON with and without ensure_ascii (Jupyter saves notebooks without), HTML text
    and attribute values: each form of the secret is redacted."""
    import html
    import json

    forms = {
        json.dumps({"v": secret}),
        json.dumps({"v": secret}, ensure_ascii=False),
        f"<p>{html.escape(secret, quote=False)}</p>",
        f'<a title="{html.escape(secret)}">x</a>',
    }
    for text in forms:
        out = redact_text(text, [secret])
        assert "[REDACTED]" in out, text
        for variant in (secret, html.escape(secret), html.escape(secret, quote=False)):
            assert variant not in out
    assert json.loads(redact_text(json.dumps({"v": secret}, ensure_ascii=False), [secret])) == {
        "v": "[REDACTED]"
    }


def _strip_by_pattern(text: str) -> str:
    """What strip_uris_in_text must equal: the pattern tried at every position."""
    return _URI_IN_TEXT_RE.sub(lambda m: strip_uri_credentials(m.group(0)), text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no uri",
        "https://u:secret-token@host/p and s3://k:v@bucket/x",
        'x{"uri": "https://u:pw@h/p?sig=abc&a=1"}y',
        "xhttps://u:pw@h/p",
        "_https://u:pw@h/p é-https://u:pw@h/q",
        "a.b+c-d://u:pw@h 1http://u:pw@h +http://u:pw@h",
        'http://"https://u:pw@h/p',  # the first has nothing after ://
        "://u:pw@h ://:// http:///",
        "git+ssh://git:pw@host/r.git\n\tftp://u:pw@h/x'",
    ],
)
def test_uris_in_text_as_the_pattern_finds_them(text: str) -> None:
    assert strip_uris_in_text(text) == _strip_by_pattern(text)


def test_uris_in_text_as_the_pattern_finds_them_in_random_text() -> None:
    import random

    rng = random.Random(7)
    pieces = ["a", "Z", "9", "+", ".", "-", "_", ":", "/", "://", "@", "u:pw@", " ", "\n", '"']
    pieces += ["'", "<", "`", "\\", "?", "sig=x", "&", "é", "http", "s3://", "x://y:z@w"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        assert strip_uris_in_text(text) == _strip_by_pattern(text), text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请访问https://user:pass-word@host/x", "请访问https://host/x"),
        ("x_https://user:pass-word@host", "x_https://host"),
        ("id=7s3://k:secret-key@bucket/p", "id=7s3://bucket/p"),
    ],
)
def test_a_uri_right_after_a_word_is_stripped(text: str, expected: str) -> None:
    assert strip_uris_in_text(text) == expected


def test_secret_values_follow_the_environment_as_it_changes() -> None:
    env = {"PATH": "/usr/bin", "HF_TOKEN": "hf_first_token_value"}
    assert secret_values(env) == ["hf_first_token_value"]
    assert secret_values(env) == ["hf_first_token_value"]  # the same, kept
    env["HF_TOKEN"] = "hf_second_token_value"
    env["DB"] = "postgresql://me:db-pass-word@h/x"
    assert secret_values(env) == ["hf_second_token_value", "db-pass-word"]
    secret_values(env).clear()  # a caller's copy
    assert secret_values(env) == ["hf_second_token_value", "db-pass-word"]
    assert secret_values({"API_TOKEN": ["not", "hashable"]}) == []
