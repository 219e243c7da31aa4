"""A receiver's error body is redacted whole before it is cut, so no part of a secret survives the cut."""

from __future__ import annotations

import httpx
import pytest

from inferledger.alerts.notifiers.base import DeliveryError, post
from inferledger.alerts.settings import ReceiverSettings

SECRET = "s3cr3t-ROUTING-key-0123456789abcdef"


@pytest.mark.parametrize("offset", [280, 290, 299])
def test_secret_straddling_the_cut_does_not_leak(offset):
    rx = ReceiverSettings(name="pd", type="pagerduty", url="https://events.example/v2/enqueue", routing_key=SECRET)
    body = "x" * offset + SECRET + " trailing"
    client = httpx.Client(transport=httpx.MockTransport(lambda req: httpx.Response(400, text=body)))
    with pytest.raises(DeliveryError) as err:
        post(client, rx, rx.url, b"{}")
    msg = str(err.value)
    assert SECRET[:6] not in msg and "HTTP 400" in msg
