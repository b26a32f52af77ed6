"""The report's response-time chart: each day's figures are in the HTML (a series'
<title>), but no invisible per-day shape is drawn (the PDF prints every node)."""

from __future__ import annotations

import re

from sitekeeper.reports.charts import Series, daily_lines


def test_each_series_title_gives_every_day_and_no_day_has_a_shape() -> None:
    svg = str(
        daily_lines(
            ["1 Oct", "2 Oct", "3 Oct"],
            [
                Series("median", "#0f4c81", [120.0, None, 98.4]),
                Series("95th <p>", "#e8912d", [300.0, 250.0, None]),
            ],
            title="Response time",
        )
    )
    titles = re.findall(r"<title>(.*?)</title>", svg, re.S)
    assert titles == [
        "median\n1 Oct: 120 ms\n3 Oct: 98 ms",
        "95th &lt;p&gt;\n1 Oct: 300 ms\n2 Oct: 250 ms",
    ]
    assert 'fill="transparent"' not in svg
    assert svg.count("<rect") == 2  # the legend's two swatches, nothing per day
