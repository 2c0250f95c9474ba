"""A webhook's 24-hour chart, drawn on the server: valid SVG, one bar per minute with
attempts (red on top for the failed share), the hourly success rate as a line, and a
summary a screen reader can read."""

from __future__ import annotations

from xml.etree import ElementTree

from flowhook.ui.charts import webhook_chart
from flowhook.usecases.activity import Minute, WebhookActivity

SVG = "{http://www.w3.org/2000/svg}"
NOW = 1_764_500_000.0


def activity(minutes: list[Minute]) -> WebhookActivity:
    attempts = sum(m.attempts for m in minutes)
    succeeded = sum(m.succeeded for m in minutes)
    return WebhookActivity(
        webhook_id="w",
        since=NOW - 86_400,
        until=NOW,
        attempts=attempts,
        succeeded=succeeded,
        success_rate=succeeded / attempts if attempts else None,
        p50_ms=None,
        p99_ms=None,
        minutes=minutes,
    )


def test_bars_per_minute_and_the_success_rate_line() -> None:
    minutes = [
        Minute(NOW - 3600 * 5 - 60 * 5 - 20, 10, 10),  # five hours ago: all succeeded
        Minute(NOW - 60 * 2 - 20, 4, 1),  # two minutes ago: three failed
    ]
    svg = ElementTree.fromstring(webhook_chart(activity(minutes)))

    bars = [r for r in svg.iter(f"{SVG}rect") if r.get("fill") in ("#2e7d32", "#c62828")]
    assert [r.get("fill") for r in bars] == ["#2e7d32", "#2e7d32", "#c62828"]
    green_old, green_new, red_new = (float(r.get("height", "0")) for r in bars)
    assert green_old == 110  # the peak minute fills the plot
    assert (green_new, red_new) == (11, 33)
    assert float(bars[0].get("x", "0")) < float(bars[1].get("x", "0"))  # oldest left
    [line] = svg.iter(f"{SVG}polyline")
    assert len(line.get("points", "").split()) == 2  # two hours with attempts
    assert svg.get("aria-label") == ("14 attempts in the last 24 hours, 11 succeeded (78.6%)")


def test_a_webhook_without_attempts_draws_an_empty_chart() -> None:
    svg = ElementTree.fromstring(webhook_chart(activity([])))
    assert list(svg.iter(f"{SVG}polyline")) == []
    assert "no attempts" in (svg.get("aria-label") or "")


def test_attempts_of_the_current_minute_are_drawn_at_the_right_edge() -> None:
    current = (NOW // 60) * 60  # the minute bucket "now" is in
    svg = ElementTree.fromstring(webhook_chart(activity([Minute(current, 3, 0)])))
    [bar] = [r for r in svg.iter(f"{SVG}rect") if r.get("fill") == "#c62828"]
    right_edge = 720 - 34  # WIDTH - RIGHT: where "now" is written
    assert right_edge - 1 < float(bar.get("x", "0")) < right_edge
    [line] = svg.iter(f"{SVG}polyline")  # the current hour has a success rate (0 %)
    assert len(line.get("points", "").split()) == 1
