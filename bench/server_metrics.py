"""What the project's servers say of themselves after a load: their `/metrics` (commits, heals).

Read over loopback, which the endpoint answers without a token. The figures are
the processes' own since they started, added up over the deployment's
processes; a scenario's server is fresh, so that is its load (and its connects).
"""

from __future__ import annotations

import math
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def scrape(url: str, timeout: float = 5.0) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name -> [(labels, value)] of one server."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=timeout) as response:
        text = response.read().decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


def _total(samples: dict[str, list[tuple[dict[str, str], float]]], name: str) -> float:
    return sum(value for _, value in samples.get(name, []))


def _buckets(
    samples: dict[str, list[tuple[dict[str, str], float]]], name: str
) -> dict[float, float]:
    out: dict[float, float] = {}
    for labels, value in samples.get(name, []):
        bound = float(labels["le"])
        out[bound] = out.get(bound, 0.0) + value
    return out


def bucket_percentile(buckets: dict[float, float], p: float) -> float | None:
    """The upper bound of the bucket that holds the p-th percentile (a histogram's best answer)."""
    if not buckets:
        return None
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if not total:
        return None
    rank = p / 100 * total
    for bound in bounds:
        if buckets[bound] >= rank:
            return bound
    return math.inf


def summary(urls: list[str]) -> dict[str, Any]:
    """Commits and heals over every process of a deployment."""
    scraped = [scrape(url) for url in urls]
    buckets: dict[float, float] = {}
    for s in scraped:
        for bound, value in _buckets(s, "collab_commit_seconds_bucket").items():
            buckets[bound] = buckets.get(bound, 0.0) + value
    batches = sum(_total(s, "collab_commit_seconds_count") for s in scraped)
    seconds = sum(_total(s, "collab_commit_seconds_sum") for s in scraped)
    updates = sum(_total(s, "collab_updates_committed_total") for s in scraped)
    return {
        "commit_batches": int(batches),
        "updates_committed": int(updates),
        "updates_per_batch": updates / batches if batches else None,
        "commit_mean_ms": 1000 * seconds / batches if batches else None,
        "commit_p50_ms_at_most": _ms(bucket_percentile(buckets, 50)),
        "commit_p99_ms_at_most": _ms(bucket_percentile(buckets, 99)),
        "gap_heals": int(sum(_total(s, "collab_gap_heals_total") for s in scraped)),
        "layer_errors": int(sum(_total(s, "collab_channel_layer_errors_total") for s in scraped)),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else 1000 * seconds
