"""Read a Prometheus scrape the way Prometheus does (prometheus-client's own parser)."""

import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families


def scrape(port: int) -> str:
    """The text of http://127.0.0.1:PORT/metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of every sample in a text-format scrape."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(text: str, name: str, /, **labels: str) -> float:
    """One sample's value; KeyError naming it when the scrape lacks it."""
    key = (name, tuple(sorted(labels.items())))
    found = samples(text)
    if key not in found:
        raise KeyError(f"{name}{labels or ''} not in the scrape")
    return found[key]


def families(text: str) -> dict[str, str]:
    """{name as docs/metrics.md writes it: type} of every metric family in a text-format scrape.

    The parser drops a counter's `_total`; it is put back. The text format
    shows an info metric as a gauge named `…_info`, and `_created` times as
    gauges of their own (left out here).
    """
    found = {}
    for family in text_string_to_metric_families(text):
        if family.name.endswith("_created"):
            continue
        if family.type == "counter":
            found[family.name + "_total"] = "counter"
        elif family.name.endswith("_info"):
            found[family.name] = "info"
        else:
            found[family.name] = family.type
    return found


def documented_metrics(prefix: str) -> dict[str, str]:
    """{name: type} of docs/metrics.md's table rows whose name starts with PREFIX."""
    section = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    rows = [line.split("|") for line in section.splitlines() if line.startswith("| `")]
    return {
        cells[1].strip().strip("`"): cells[2].strip()
        for cells in rows
        if cells[1].strip().strip("`").startswith(prefix)
    }
