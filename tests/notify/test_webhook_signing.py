"""The pure parts of delivery: Standard Webhooks signatures against the reference implementation,
secrets, the retry schedule, which addresses are refused, quiet hours and secret rotation."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.notify.delivery.policy import parse_schedule
from services.notify.delivery.sms import quiet_until
from services.notify.delivery.webhooks import (
    InvalidSecret,
    address_refusal,
    decode_secret,
    sign,
    static_refusal,
    webhook_headers,
)
from services.notify.endpoint.service import live_secrets, rotate, signing_keys
from shared.clock import CHINA_TZ
from shared.pii import PiiCipher

CIPHER = PiiCipher("k1:" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode(), "h")


def whsec() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def test_signature_matches_the_reference_implementation_for_every_secret():
    secrets = [whsec(), whsec()]
    body = '{"type":"whistle.created","timestamp":"2026-11-22T10:00:00+08:00","data":{"标题":"邻里纠纷"}}'.encode()
    ts = int(datetime.now(UTC).timestamp())
    headers = webhook_headers("msg_abc", ts, body, [decode_secret(s) for s in secrets])
    assert headers["webhook-id"] == "msg_abc" and headers["webhook-timestamp"] == str(ts)
    for secret in secrets:
        assert Webhook(secret).verify(body, headers)["data"] == {"标题": "邻里纠纷"}
        reference = Webhook(secret).sign("msg_abc", datetime.fromtimestamp(ts, UTC), body.decode())
        assert reference in headers["webhook-signature"].split(" ")
    with pytest.raises(WebhookVerificationError):
        Webhook(whsec()).verify(body, headers)  # a stranger's secret is refused
    assert sign("m", 1, b"x", []) == ""


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "abc",
        "whsec_",
        "whsec_!!!!",
        "whsec_" + base64.b64encode(b"short").decode(),
        "whsec_" + base64.b64encode(b"x" * 65).decode(),
    ],
)
def test_malformed_secrets_are_refused(secret):
    with pytest.raises(InvalidSecret):
        decode_secret(secret)


def test_secrets_decode_with_or_without_padding():
    raw = os.urandom(32)
    b64 = base64.b64encode(raw).decode()
    assert decode_secret("whsec_" + b64) == raw == decode_secret("whsec_" + b64.rstrip("="))


def test_the_schedule_reads_units_and_refuses_nonsense():
    assert parse_schedule("5s,5m,30m,2h,5h,10h,10h") == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert parse_schedule(" 1s, 2 ,0.5m,1d ") == (1, 2, 30, 86400)
    assert parse_schedule("") == ()
    assert sum(parse_schedule("5s,5m,30m,2h,5h,10h,10h")) >= 24 * 3600  # API.md: at least 24 hours
    with pytest.raises(ValueError, match="retry schedule entry"):
        parse_schedule("5s,soon")


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a public"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("8.8.8.8", None),
        ("2400:3200::1", None),
        ("114.114.114.114", None),
    ],
)
def test_address_refusals(address, refused):
    reason = address_refusal(address)
    assert (reason is None) if refused is None else (refused in reason)


@pytest.mark.parametrize(
    ("url", "allow_private", "refused"),
    [
        ("ftp://example.org/x", True, "only http"),
        ("http:///x", True, "no host"),
        ("https://example.org/x", False, None),
        ("http://127.0.0.1:8080/x", False, "loopback"),
        ("http://127.0.0.1:8080/x", True, None),
        ("http://localhost./x", False, "local name"),
        ("http://svc.internal/x", False, "local name"),
        ("http://[::1]:80/x", False, "loopback"),
        ("http://example.org:99999/x", True, "not a valid URL"),
    ],
)
def test_static_refusals(url, allow_private, refused):
    reason = static_refusal(url, allow_private)
    assert (reason is None) if refused is None else (refused in reason)


@pytest.mark.parametrize(
    ("local", "spec", "until"),
    [
        ((23, 30), "22:00-07:00", (1, 7, 0)),
        ((2, 0), "22:00-07:00", (0, 7, 0)),
        ((7, 0), "22:00-07:00", None),
        ((12, 0), "22:00-07:00", None),
        ((22, 0), "22:00-07:00", (1, 7, 0)),
        ((13, 0), "12:00-14:00", (0, 14, 0)),
        ((23, 0), "", None),
    ],
)
def test_quiet_hours_end_at_the_next_end_of_the_window(local, spec, until):
    at = datetime(2026, 11, 22, *local, tzinfo=CHINA_TZ)
    expected = (
        None
        if until is None
        else datetime(2026, 11, 22, until[1], until[2], tzinfo=CHINA_TZ) + timedelta(days=until[0])
    )
    assert quiet_until(at.astimezone(UTC), spec) == expected


def test_rotation_keeps_the_previous_secret_24_hours_and_drops_expired_ones():
    now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    a, b, c = whsec(), whsec(), whsec()
    first = rotate([], a, CIPHER, now)
    assert rotate(first, a, CIPHER, now) is None  # the same secret: nothing to do
    second = rotate(first, b, CIPHER, now + timedelta(hours=1))
    assert [CIPHER.decrypt(s["secret_enc"]) for s in second] == [b, a]
    assert second[1]["expires_at"] == (now + timedelta(hours=25)).isoformat()
    third = rotate(second, c, CIPHER, now + timedelta(hours=2))  # a's earlier expiry is kept, b gets 24 h
    assert [s["expires_at"] for s in third] == [
        None,
        (now + timedelta(hours=26)).isoformat(),
        (now + timedelta(hours=25)).isoformat(),
    ]
    assert len(signing_keys(third, CIPHER, now + timedelta(hours=3))) == 3
    assert len(live_secrets(third, now + timedelta(hours=25, seconds=1))) == 2
    assert signing_keys(third, CIPHER, now + timedelta(hours=27)) == [decode_secret(c)]
