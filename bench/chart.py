"""chart.py: the bench/ scripts' figures as PNG files, drawn with Debian's python3-matplotlib.

Three shapes cover every script: grouped bars (one group per workload, one bar per server,
optionally one panel per metric), small multiples (one panel per measure, two bars: what
memory, expiry and idle report) and lines over a growing x (growth). Each function returns
"Chart: <path>" for the script's markdown, or "Chart: none (<why>)" when matplotlib is not
installed or drawing failed; a chart never stops a benchmark from reporting its figures.
Colours: respite blue, redis red, as in the tables' column order.
"""
import math
import os

COLORS = {"respite": "#2a7ab0", "redis": "#c0392b"}
SERVERS = ("respite", "redis")


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt, None
    except ImportError:
        return None, "none (python3-matplotlib not installed: apt-get install python3-matplotlib)"


def _num(v):
    if v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _save(plt, fig, path):
    try:
        fig.savefig(path, dpi=100)
        return "Chart: %s" % path
    except (OSError, ValueError) as e:
        return "Chart: none (drawing failed: %s)" % e
    finally:
        plt.close(fig)


def grouped_bars(path, title, labels, panels):
    """panels: [(ylabel, {server: [value per label]}, logy)], one panel each, stacked."""
    plt, why = _pyplot()
    if not plt:
        return "Chart: " + why
    fig, axes = plt.subplots(len(panels), 1, figsize=(max(8, 0.55 * len(labels) + 3), 3.6 * len(panels)),
                             squeeze=False)
    width = 0.8 / len(SERVERS)
    for ax, (ylabel, series, logy) in zip(axes[:, 0], panels):
        for i, s in enumerate(SERVERS):
            xs = [j + (i - (len(SERVERS) - 1) / 2) * width for j in range(len(labels))]
            ax.bar(xs, [_num(v) for v in series.get(s, [])] or [math.nan] * len(labels), width,
                   label=s, color=COLORS[s])
        ax.set_ylabel(ylabel)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=35, ha="right", fontsize=8)
        if logy:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(plt, fig, path)


def measure_panels(path, title, measures, cols=3):
    """measures: [(name, respite value, redis value)]; one small panel of two bars each
    (units differ between measures, so no shared axis)."""
    plt, why = _pyplot()
    if not plt:
        return "Chart: " + why
    measures = [m for m in measures if not (math.isnan(_num(m[1])) and math.isnan(_num(m[2])))]
    if not measures:
        return "Chart: none (nothing measured)"
    cols = min(cols, len(measures))
    rows = (len(measures) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(measures):
            ax.axis("off")
            continue
        name, a, b = measures[k]
        vals = [_num(a), _num(b)]
        ax.bar(SERVERS, vals, color=[COLORS[s] for s in SERVERS])
        for x, v in enumerate(vals):
            if not math.isnan(v):
                ax.annotate("%.4g" % v, (x, v), ha="center", va="bottom", fontsize=8)
        ax.set_title(name, fontsize=9, wrap=True)
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(plt, fig, path)


def lines(path, title, xlabel, panels):
    """panels: [(ylabel, {server: [(x, y), ...]}, logy)], one panel each, side by side in
    two columns."""
    plt, why = _pyplot()
    if not plt:
        return "Chart: " + why
    cols = 2 if len(panels) > 1 else 1
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 3.4 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(panels):
            ax.axis("off")
            continue
        ylabel, series, logy = panels[k]
        for s in SERVERS:
            pts = [(x, _num(y)) for x, y in series.get(s, [])]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=s, color=COLORS[s])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(plt, fig, path)


def png_path(out_dir, name):
    return os.path.join(out_dir, name + ".png")
