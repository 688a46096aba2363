"""The payment gateway: an HTTP client with a timeout, or a simulated gateway that pays every refund."""

import asyncio

import httpx
import msgspec

from application.ports import PaymentOutcome, RefundOrder

TRANSIENT_STATUSES = frozenset({408, 429})


def classify(status: int) -> PaymentOutcome:
    if 200 <= status < 300:
        return PaymentOutcome(paid=True)
    transient = status in TRANSIENT_STATUSES or status >= 500 or status < 200
    return PaymentOutcome(paid=False, error=f"gateway answered {status}", transient=transient)


class HttpRefundGateway:
    """`POST <url>` with the order and `Idempotency-Key: <refundId>`: 2xx is paid; 408, 429, 5xx, a timeout or a
    failed connection is transient; any other answer is permanent. Errors name what happened, never the body."""

    def __init__(self, url: str, timeout_seconds: float) -> None:
        self._url = url
        self._timeout = timeout_seconds
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout_seconds), follow_redirects=False)

    async def pay(self, order: RefundOrder) -> PaymentOutcome:
        try:
            # httpx's timeout bounds each phase; this bounds the whole call (a gateway trickling bytes included).
            async with asyncio.timeout(self._timeout):
                response = await self._client.post(
                    self._url,
                    content=msgspec.json.encode(order),
                    headers={"Content-Type": "application/json", "Idempotency-Key": str(order.refund_id)},
                )
        except (TimeoutError, httpx.TimeoutException):
            return PaymentOutcome(paid=False, error="gateway timed out", transient=True)
        except httpx.TransportError:
            return PaymentOutcome(paid=False, error="gateway unreachable", transient=True)
        except httpx.HTTPError:  # an answer that is not HTTP as it should be (a broken encoding, say)
            return PaymentOutcome(paid=False, error="gateway answered something unreadable", transient=True)
        return classify(response.status_code)

    async def aclose(self) -> None:
        await self._client.aclose()


class SimulatedGateway:
    """Pays every refund (TASKFLOW_REFUND_GATEWAY_URL unset): the flow runs end to end with no real money."""

    async def pay(self, order: RefundOrder) -> PaymentOutcome:
        return PaymentOutcome(paid=True)

    async def aclose(self) -> None:
        return None
