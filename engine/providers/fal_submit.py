"""One POST to fal's queue per submit: never repeated behind the engine's back.

fal-client's ``submit`` runs its POST through a retry loop (``_async_maybe_retry_request``:
up to 10 attempts on 408/409/429, nginx-looking 502-504, any transport error and any
timeout). A POST whose answer is lost after fal queued it is then sent again, and fal
queues, runs and bills the clip a second time: fal's queue has no client-chosen
idempotency key (its platform headers, fal.ai/docs/documentation/model-apis/common-parameters,
are timeout, store-io, lifecycle, no-retry, hint, priority and fallbacks only), so the
second request cannot be recognised as the first. So the POST is made here, once, with
fal-client's own httpx client (its key, user agent, reply cap and backup-domain transport),
and each failure says whether sending it again is safe (docs/decisions.md, "fal bills once").
"""

from __future__ import annotations

from collections.abc import Mapping

import fal_client.client as fal
import httpx
from fal_client.client import AsyncRequestHandle

from engine.errors import ProviderError, TransientError
from engine.providers.fal_errors import error_for

# Raised before a byte of the request left: fal cannot have queued anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class SubmitUncertainError(ProviderError):
    """The submit was sent and its answer lost: fal may have queued (and will bill) it.

    Permanent on purpose: the engine's retry would submit again, and without the request
    id nothing can re-attach to (or cancel) the first one. The part takes its degrade rung.
    """


async def submit_once(
    http: httpx.AsyncClient, app: str, arguments: Mapping[str, object], *, timeout_s: float
) -> AsyncRequestHandle:
    """Queue one request; a TransientError means fal certainly did not queue it."""
    url = fal.QUEUE_URL_FORMAT + app  # read at call time, as fal-client does
    try:
        response = await http.post(url, json=dict(arguments), timeout=timeout_s)
    except _NOT_SENT as exc:
        raise TransientError(f"fal could not be reached ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:  # read/write errors and timeouts, once sent
        raise SubmitUncertainError(
            f"fal's answer to a submit was lost ({type(exc).__name__}); not sent again"
        ) from exc
    if response.is_error:
        # An answer is a refusal: 429 and 5xx are not queued (fal bills no 5xx), so the
        # engine's retry may send it again.
        raise error_for(response)
    try:
        data = response.json()
        return AsyncRequestHandle(
            request_id=str(data["request_id"]),
            response_url=str(data["response_url"]),
            status_url=str(data["status_url"]),
            cancel_url=str(data["cancel_url"]),
            client=http,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise SubmitUncertainError("fal accepted a submit with an unreadable answer") from exc
