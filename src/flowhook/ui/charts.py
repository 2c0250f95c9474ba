"""Small charts drawn on the server as inline SVG (no JavaScript, no chart library): a
webhook's last 24 hours of attempts, one bar per minute (succeeded green, failed red on
top), and its success rate hour by hour as a line. The figures are the use case's
(``usecases/activity.py``); this module only draws them. Every value written into the
SVG is a number this module formats, so nothing needs escaping."""

from __future__ import annotations

import math

from flowhook.usecases.activity import MINUTE_S, WINDOW_S, WebhookActivity

WIDTH, HEIGHT = 720, 140
TOP, BOTTOM, LEFT, RIGHT = 10, 20, 34, 34
HOUR_S = 3600.0


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def webhook_chart(activity: WebhookActivity) -> str:
    """The chart as an ``<svg>`` element, labelled for screen readers."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slots = int(WINDOW_S / MINUTE_S)
    # the last slot is the current minute (the bars end at "now"); the partial minute
    # that holds ``since`` falls off the left edge
    start = (math.floor(activity.until / MINUTE_S) - slots + 1) * MINUTE_S
    peak = max((m.attempts for m in activity.minutes), default=0)
    bar_w = plot_w / slots
    rate = "no attempts" if activity.success_rate is None else f"{activity.success_rate:.1%}"
    summary = (
        f"{activity.attempts} attempts in the last 24 hours, {activity.succeeded} succeeded "
        f"({rate})"
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="{summary}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{summary}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#ccc"/>',
    ]
    for minute in activity.minutes:
        slot = (minute.at - start) / MINUTE_S
        if not 0 <= slot < slots or peak == 0:
            continue
        x = LEFT + slot * bar_w
        ok_h = plot_h * minute.succeeded / peak
        failed_h = plot_h * (minute.attempts - minute.succeeded) / peak
        base = TOP + plot_h
        if ok_h:
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(base - ok_h)}" width="{_n(max(bar_w, 0.6))}" '
                f'height="{_n(ok_h)}" fill="#2e7d32"/>'
            )
        if failed_h:
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(base - ok_h - failed_h)}" '
                f'width="{_n(max(bar_w, 0.6))}" height="{_n(failed_h)}" fill="#c62828"/>'
            )
    hours: dict[int, list[int]] = {}
    for minute in activity.minutes:
        hour = int((minute.at - start) // HOUR_S)
        counts = hours.setdefault(hour, [0, 0])
        counts[0] += minute.attempts
        counts[1] += minute.succeeded
    points = [
        f"{_n(LEFT + (hour + 0.5) * plot_w / 24)},{_n(TOP + plot_h * (1 - ok / total))}"
        for hour, (total, ok) in sorted(hours.items())
        if total and 0 <= hour < 24
    ]
    if points:
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="#1565c0" '
            'stroke-width="1.5"/>'
        )
    parts += [
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end" font-size="10">{peak}/min</text>',
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end" font-size="10">0</text>',
        f'<text x="{WIDTH - RIGHT + 4}" y="{TOP + 8}" font-size="10" fill="#1565c0">100%</text>',
        f'<text x="{WIDTH - RIGHT + 4}" y="{TOP + plot_h}" font-size="10" fill="#1565c0">0%</text>',
        f'<text x="{LEFT}" y="{HEIGHT - 5}" font-size="10">24 h ago</text>',
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 5}" text-anchor="end" font-size="10">now</text>',
        "</svg>",
    ]
    return "".join(parts)
