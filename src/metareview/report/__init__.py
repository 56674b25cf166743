"""report stage of metareview: forest and funnel plots (matplotlib), the HTML and JSON report.

Public API::

    from metareview.report import forest_plot, funnel_plot, save_figure, write_report

``forest_plot``/``funnel_plot`` take a fitted model (:class:`~metareview.models.RMAResult`) and
return a matplotlib Figure; ``save_figure`` writes it as SVG, PNG and PDF; ``write_report``
turns a review result into a self-contained ``report.html`` plus ``report.json``.
"""

from metareview.report.gosh_plot import gosh_plot
from metareview.report.html import build_report_data, render_report, write_report
from metareview.report.plots import figure_svg, forest_plot, funnel_plot, save_figure

__all__ = [
    "build_report_data",
    "figure_svg",
    "forest_plot",
    "funnel_plot",
    "gosh_plot",
    "render_report",
    "save_figure",
    "write_report",
]
