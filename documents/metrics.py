"""Prometheus metrics of one server process, and the `/metrics` endpoint that serves them.

The realtime code only increments counters and observes histograms, once per
commit batch, heal, close or layer failure; nothing runs per frame. Open
sockets and rooms are not counted as they change: they are read from the
room registry when Prometheus scrapes.

Processes: every figure is this process's own (prometheus-client's default
registry). The deployment runs one Daphne process per container, and
Prometheus scrapes every container (e.g. DNS service discovery of `app` in
docker-compose.yml); it adds the containers up itself. Several processes
behind one address would each answer for themselves alone and a scrape would
see one at random: give each its own address (or port) instead. The
client's multi-process mode is not used: it cannot serve the live gauges.

The endpoint answers only a request from an address in
METRICS_ALLOWED_ADDRESSES (loopback by default) or one that carries
`Authorization: Bearer <METRICS_TOKEN>`; anyone else gets 404, as if there
were no such page.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# The process's own registry, apart from the client's global one: only these
# figures are served. Not auto-described: describing the rooms' collector would
# read the registry while the realtime package is still being imported.
REGISTRY = CollectorRegistry(auto_describe=False)

UPDATES_COMMITTED = Counter(
    "collab_updates_committed",
    "Document updates committed to the database.",
    registry=REGISTRY,
)
COMMIT_BATCH_SIZE = Histogram(
    "collab_commit_batch_size",
    "Updates per group commit.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
    registry=REGISTRY,
)
COMMIT_SECONDS = Histogram(
    "collab_commit_seconds",
    "Time to commit one batch, retries while the database is away included.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
    registry=REGISTRY,
)
GAP_HEALS = Counter(
    "collab_gap_heals",
    "Updates (or snapshots) a room read from the database because the channel layer "
    "had not delivered them.",
    registry=REGISTRY,
)
SOCKET_CLOSES = Counter(
    "collab_socket_closes",
    "Sockets the server refused or closed, by close code (documents/realtime/close_codes.py).",
    ["code"],
    registry=REGISTRY,
)
CHANNEL_LAYER_ERRORS = Counter(
    "collab_channel_layer_errors",
    "Channel-layer operations that failed (a room then serves its editors locally and retries).",
    registry=REGISTRY,
)


def commit_observed(*, updates: int, seconds: float) -> None:
    """One group commit of `updates` updates took `seconds`."""
    UPDATES_COMMITTED.inc(updates)
    COMMIT_BATCH_SIZE.observe(updates)
    COMMIT_SECONDS.observe(seconds)


def socket_closed(code: int) -> None:
    """The server closed (or refused) a socket with `code`."""
    SOCKET_CLOSES.labels(code=str(int(code))).inc()


class _RoomsCollector(Collector):
    """Open sockets and rooms of this process, read from the registry at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        # Imported here: the realtime package is loaded once Django is.
        from documents.realtime.registry import registry

        try:
            rooms = list(registry().rooms.values())
        except RuntimeError:  # no event loop here: no rooms either
            rooms = []
        yield GaugeMetricFamily(
            "collab_open_sockets",
            "Editors' sockets open on this process.",
            value=sum(len(room.connections) for room in rooms),
        )
        yield GaugeMetricFamily("collab_rooms", "Documents open on this process.", value=len(rooms))


REGISTRY.register(_RoomsCollector())


def generate_latest() -> bytes:
    """Every metric of this process, in Prometheus's text format."""
    return _generate_latest(REGISTRY)


def _allowed(request: HttpRequest) -> bool:
    token: str = getattr(settings, "METRICS_TOKEN", "")
    offered = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    networks = getattr(settings, "METRICS_ALLOWED_ADDRESSES", [])
    return any(address in ipaddress.ip_network(network) for network in networks)


@require_GET
@never_cache
async def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics for Prometheus; async, so the rooms are read on the event loop's thread."""
    if not _allowed(request):
        raise Http404
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
