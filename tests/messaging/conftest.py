"""Fixtures of the channel tests: a vendor-emulating receiver (messaging/sink.py), a clock
shared by the rate window and the receiver, and alerts made directly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from kam.tenancy import tenant_context
from messaging import delivery, services
from messaging.models import ChannelKind
from messaging.sink import Sink
from risk.models import RiskAlert
from tests.factories import AccountFactory
from tests.risk.conftest import policy  # noqa: F401 (a fixture of the risk tests, used here too)

SECRET = "SEC0123456789abcdef0123456789abcdef"


class Clock:
    """Unix seconds that a test moves by hand (the rate window's and the receiver's time)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def outbound(settings: Any) -> None:
    """Local receivers allowed, short timeouts."""
    settings.RISK_WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.RISK_WEBHOOK_TIMEOUT = 1
    settings.RISK_WEBHOOK_DEADLINE = 2
    settings.SITE_URL = "https://kam.example.com"


@pytest.fixture
def sink(outbound: None) -> Iterator[Sink]:
    receiver = Sink(secrets={"wx-key": "", "dt-token": SECRET, "fs-token": SECRET, "hook": SECRET}).start()
    yield receiver
    receiver.stop()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, sink: Sink) -> Clock:
    import time

    moving = Clock(time.time())
    monkeypatch.setattr(delivery, "clock", moving)
    sink.clock = moving
    return moving


def robot(tenant: Any, sink: Sink, kind: str, **fields: Any) -> Any:
    urls = {
        ChannelKind.WECOM_ROBOT: lambda: sink.wecom_url("wx-key"),
        ChannelKind.DINGTALK_ROBOT: lambda: sink.dingtalk_url("dt-token"),
        ChannelKind.FEISHU_ROBOT: lambda: sink.feishu_url("fs-token"),
        ChannelKind.WEBHOOK: lambda: sink.webhook_url("hook"),
    }
    values = {
        "name": f"{kind} channel",
        "kind": kind,
        "url": urls[kind](),
        "secret": "" if kind == ChannelKind.WECOM_ROBOT else SECRET,
        "alert_routes": {"payment_overdue": "warning", "health_red": "critical", "concentration_single": "info"},
        **fields,
    }
    return services.channel_create(tenant, **values)


def make_alerts(
    tenant: Any,
    count: int,
    *,
    kind: str = "payment_overdue",
    severity: str = "critical",
    account: Any = None,
    **extra: Any,
) -> list[int]:
    """``count`` open alerts made directly (one account each unless given); their ids."""
    now = timezone.now()
    with tenant_context(tenant):
        accounts = [account] * count if account is not None else [AccountFactory(tenant=tenant) for _ in range(count)]
        alerts = RiskAlert.objects.bulk_create(
            [
                RiskAlert(
                    tenant=tenant,
                    kind=kind,
                    severity=severity,
                    account=accounts[number],
                    dedupe_key=f"{kind}:{accounts[number].pk}:{number}",
                    details={"invoices": 1, "outstanding": "1000.00", "max_days_overdue": 45, **extra},
                    opened_at=now - dt.timedelta(minutes=1),
                    updated_at=now,
                )
                for number in range(count)
            ]
        )
    return [alert.pk for alert in alerts]
