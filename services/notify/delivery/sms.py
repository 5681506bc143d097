"""SMS (短信) through a provider adapter, with quiet hours and a per-recipient daily cap.

The generic adapter POSTs `{"to": "<phone>", "text": "…"}` as JSON to `SMS_GATEWAY_URL` and counts
any 2xx as sent; with no gateway set, a logging provider "sends" by writing the masked phone to the
log. Vendor adapters (Aliyun, Tencent Cloud) implement the same `send`.

Quiet hours (`SMS_QUIET_HOURS`, China time, e.g. "22:00-07:00") hold a non-major message until the
quiet period ends; a major one goes at once. The daily cap (`SMS_DAILY_CAP`, 0 = none) counts per
recipient (keyed hash of the phone) per China calendar day in `notify.sms_counters`; a message over
it is dead at once, with the reason. SMS retries follow `WEBHOOK_RETRY_SCHEDULE` too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol

import httpx

from shared.clock import CHINA_TZ
from shared.pii import mask_phone

log = logging.getLogger("notify.sms")


@dataclass(frozen=True)
class SmsResult:
    ok: bool
    status: int | None = None
    error: str | None = None


class SmsProvider(Protocol):
    name: str

    async def send(self, phone: str, text: str) -> SmsResult: ...


class GatewaySmsProvider:
    """The generic HTTP gateway adapter."""

    name = "gateway"

    def __init__(self, url: str, client: httpx.AsyncClient) -> None:
        self.url = url
        self.client = client

    async def send(self, phone: str, text: str) -> SmsResult:
        try:
            resp = await self.client.post(self.url, json={"to": phone, "text": text})
        except httpx.TimeoutException:
            return SmsResult(False, None, "sms gateway: timeout")
        except httpx.HTTPError as exc:
            return SmsResult(False, None, f"sms gateway: {type(exc).__name__}: {exc}"[:300])
        if 200 <= resp.status_code < 300:
            return SmsResult(True, resp.status_code)
        return SmsResult(False, resp.status_code, f"sms gateway answered {resp.status_code}: {resp.text[:200]}")


class LoggingSmsProvider:
    """No gateway configured (development): log the masked phone, never the number itself."""

    name = "log"

    async def send(self, phone: str, text: str) -> SmsResult:
        log.info("sms (logging provider) to %s: %d characters", mask_phone(phone), len(text))
        return SmsResult(True)


def china_day(at: datetime) -> str:
    """The China calendar day of an instant (the cap's key): YYYY-MM-DD."""
    return at.astimezone(CHINA_TZ).date().isoformat()


def parse_quiet_hours(spec: str | None) -> tuple[time, time] | None:
    """ "22:00-07:00" → (22:00, 07:00); empty → no quiet hours."""
    if not spec or not spec.strip():
        return None
    start_s, sep, end_s = spec.strip().partition("-")
    if not sep:
        raise ValueError(f"quiet hours must look like HH:MM-HH:MM, got {spec!r}")
    start, end = time.fromisoformat(start_s.strip()), time.fromisoformat(end_s.strip())
    return None if start == end else (start, end)


def quiet_until(at: datetime, spec: str | None) -> datetime | None:
    """If `at` falls in the quiet hours, the instant they end; else None. The window may span midnight."""
    window = parse_quiet_hours(spec)
    if window is None:
        return None
    start, end = window
    local = at.astimezone(CHINA_TZ)
    now_t = local.timetz().replace(tzinfo=None)
    if start < end:
        inside = start <= now_t < end
    else:
        inside = now_t >= start or now_t < end
    if not inside:
        return None
    end_at = datetime.combine(local.date(), end, tzinfo=CHINA_TZ)
    if end_at <= local:
        end_at += timedelta(days=1)
    return end_at
