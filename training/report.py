"""The per-run report: ``report.json``, a self-contained ``report.html`` and two charts.

``rouge.png`` draws ROUGE-1/2/L/Lsum as grouped bars for the base model, the adapter in service
and the candidate (the seed paper's Fig. 1, with the incumbent added); ``loss.png`` draws the
training loss against the epoch (Fig. 2): every logged step, and each epoch's mean. The page
also shows each gate check with the bootstrap interval it decided on, and fact accuracy and
contradiction rate per register for incumbent and candidate.

Everything here renders from the plain ``report`` dictionary that ``report.json`` holds, so a
report can be re-rendered from its JSON alone.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from model.text.rouge import ROUGE_KEYS

__all__ = [
    "REPORT_FILES",
    "loss_chart",
    "render_html",
    "rouge_chart",
    "summary_text",
    "write_report",
]

REPORT_FILES = {
    "json": "report.json",
    "html": "report.html",
    "rouge": "rouge.png",
    "loss": "loss.png",
}
METRIC_LABELS = {
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "rougeLsum": "ROUGE-Lsum",
}
# Bar colours per model role; fixed so every night's chart reads the same way.
COLORS = {"base": "#9e9e9e", "active": "#1f77b4", "candidate": "#ff7f0e"}
# A Telegram photo caption holds at most 1024 characters.
CAPTION_LIMIT = 1024


def _pyplot() -> Any:
    import matplotlib

    # No display on servers: render to files only.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _series(report: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, float]]]:
    """(role, legend label, scores) of each model that has scores, base first."""
    names = report.get("models", {})
    series = []
    for role in ("base", "active", "candidate"):
        scores = report.get("metrics", {}).get(role)
        if scores:
            name = names.get(role)
            label = "base model" if role == "base" else f"{role} {name}" if name else role
            series.append((role, label, scores))
    return series


def rouge_chart(report: Mapping[str, Any], path: Path) -> Path | None:
    """Grouped ROUGE bars per model; ``None`` when the run scored nothing."""
    series = _series(report)
    if not series:
        return None
    plt = _pyplot()
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(8, 5))
    top = 0.0
    for index, (role, label, scores) in enumerate(series):
        offsets = [i - 0.4 + width * (index + 0.5) for i in range(len(ROUGE_KEYS))]
        values = [scores[key] for key in ROUGE_KEYS]
        top = max(top, *values)
        bars = ax.bar(offsets, values, width=width, label=label, color=COLORS[role])
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    ax.set_xticks(range(len(ROUGE_KEYS)), [METRIC_LABELS[k] for k in ROUGE_KEYS])
    ax.set_ylabel("ROUGE F1 (Bangla-aware tokenizer)")
    ax.set_ylim(0, top + 0.05)
    ax.set_title(f"Run {report.get('run_id', '?')}: ROUGE on {_test_size(report)} test pairs")
    ax.legend()
    ax.grid(axis="y", linestyle="--", alpha=0.7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def loss_chart(report: Mapping[str, Any], path: Path) -> Path | None:
    """Training loss vs epoch; ``None`` when the run did not train."""
    training = report.get("training") or {}
    steps: Sequence[Sequence[float]] = training.get("loss_steps") or []
    epochs: Sequence[Sequence[float]] = training.get("loss_epochs") or []
    if not steps:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(
        [s[0] for s in steps],
        [s[1] for s in steps],
        color="#1f77b4",
        alpha=0.35,
        linewidth=1,
        label="per step",
    )
    if epochs:
        ax.plot(
            [e[0] for e in epochs],
            [e[1] for e in epochs],
            color="#d62728",
            marker="o",
            linewidth=2,
            label="epoch mean",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (completion tokens)")
    ax.set_title("Training loss vs epoch")
    ax.legend()
    ax.grid(linestyle="--", alpha=0.7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _test_size(report: Mapping[str, Any]) -> int:
    counts = report.get("languages", {}).get("counts", {})
    return sum(counts.values())


def _decided_interval(report: Mapping[str, Any]) -> tuple[str, Mapping[str, float]] | None:
    """The interval the improvement check decided on (older reports: the difference)."""
    metric = report.get("gate_metric", "rougeL")
    for check in (report.get("gate") or {}).get("checks") or []:
        if check.get("name") == "improvement" and check.get("intervals", {}).get(metric):
            return f"{metric} gain", check["intervals"][metric]
    difference = (report.get("difference") or {}).get(metric)
    return (f"{metric} difference", difference) if difference else None


def _interval_text(interval: Mapping[str, float]) -> str:
    level = interval.get("confidence", 0.95)
    return (
        f"{interval['delta']:+.4f} ({level:.0%} CI {interval['low']:+.4f} to "
        f"{interval['high']:+.4f})"
    )


def _facts_line(report: Mapping[str, Any]) -> str | None:
    facts = report.get("facts") or {}
    roles = facts.get("roles") or {}
    if not roles:
        return f"fact accuracy not measured: {facts['error']}" if facts.get("error") else None
    parts = [
        f"{role} {data['accuracy']:.1%} (contradictions {data['contradiction_rate']:.1%})"
        for role, data in roles.items()
    ]
    return "fact accuracy: " + ", ".join(parts)


def summary_text(report: Mapping[str, Any]) -> str:
    """A few lines for the operators' chat (fits a photo caption)."""
    outcome = report.get("decision") or report.get("status")
    lines = [
        f"uttor retrain run {report.get('run_id')}: {outcome}",
        str(report.get("reason") or ""),
        str(report.get("incumbent_note") or ""),
    ]
    for _role, label, scores in _series(report):
        figures = " ".join(f"{METRIC_LABELS[k]} {scores[k]:.3f}" for k in ROUGE_KEYS)
        lines.append(f"{label}: {figures}")
    decided = _decided_interval(report)
    if decided:
        lines.append(f"{decided[0]} {_interval_text(decided[1])}")
    lines.append(_facts_line(report) or "")
    if report.get("seconds") is not None:
        lines.append(f"took {report['seconds'] / 60:.1f} min")
    text = "\n".join(line for line in lines if line)
    return text if len(text) <= CAPTION_LIMIT else text[: CAPTION_LIMIT - 1] + "…"


def _image(path: Path | None) -> str:
    if path is None or not path.is_file():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any, tag: str) -> str:
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
        return f"<{tag}>{html.escape(text)}</{tag}>"

    head = "".join(cell(h, "th") for h in header)
    body = "".join("<tr>" + "".join(cell(v, "td") for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _metrics_table(report: Mapping[str, Any]) -> str:
    series = _series(report)
    if not series:
        return "<p>No scores: the run did not evaluate.</p>"
    header = ["metric", *[label for _, label, _ in series]]
    rows = [[METRIC_LABELS[k], *[s[k] for _, _, s in series]] for k in ROUGE_KEYS]
    difference = report.get("difference") or {}
    if difference:
        header.append("candidate − incumbent (95 % CI)")
        for row, key in zip(rows, ROUGE_KEYS, strict=True):
            d = difference.get(key)
            row.append(f"{d['delta']:+.4f} ({d['low']:+.4f} … {d['high']:+.4f})" if d else "")
    return _table(header, rows)


def _language_table(report: Mapping[str, Any]) -> str:
    languages = report.get("languages") or {}
    counts: Mapping[str, int] = languages.get("counts") or {}
    metric = report.get("gate_metric", "rougeL")
    roles = [r for r in ("base", "active", "candidate") if languages.get(r)]
    if not counts or not roles:
        return ""
    header = ["language", "items", *[f"{r} {METRIC_LABELS.get(metric, metric)}" for r in roles]]
    rows = [
        [lang, n, *[languages[r].get(lang, {}).get(metric, float("nan")) for r in roles]]
        for lang, n in sorted(counts.items())
    ]
    return _table(header, rows)


def _samples_table(report: Mapping[str, Any]) -> str:
    samples = report.get("samples") or []
    if not samples:
        return ""
    header = ["question", "language", "reference", "incumbent", "candidate"]
    rows = [
        [s["question"], s["language"], s["reference"], s.get("incumbent", ""), s["candidate"]]
        for s in samples
    ]
    return _table(header, rows)


def _check_item(check: Mapping[str, Any]) -> str:
    intervals: Mapping[str, Any] = check.get("intervals") or {}
    header = ["compared", "items", "candidate − incumbent", "low", "high"]
    rows = [
        [n, int(i.get("items", 0)), i["delta"], i["low"], i["high"]] for n, i in intervals.items()
    ]
    mark = "✅" if check["passed"] else "❌"
    return (
        f"<li>{mark} <b>{html.escape(check['name'])}</b>: {html.escape(check['reason'])}"
        f"{_table(header, rows) if rows else ''}</li>"
    )


def _checks_list(report: Mapping[str, Any]) -> str:
    gate = report.get("gate") or {}
    items = "".join(_check_item(c) for c in gate.get("checks") or [])
    level = gate.get("confidence")
    note = f"<p>Paired bootstrap intervals at {level:.0%} confidence.</p>" if level else ""
    return f"{note}<ul>{items}</ul>" if items else ""


def _facts_section(report: Mapping[str, Any]) -> str:
    facts = report.get("facts") or {}
    roles: Mapping[str, Any] = facts.get("roles") or {}
    if not roles:
        why = f": {facts['error']}" if facts.get("error") else ""
        return f"<p>Not measured{html.escape(why)}.</p>"
    registers = sorted({r for data in roles.values() for r in data.get("by_register", {})})
    header = ["register", "questions"]
    header += [f"{role} {what}" for what in ("accuracy", "contradictions") for role in roles]

    def row(label: str, pick: Any) -> list[Any]:
        found = [pick(data) or {} for data in roles.values()]
        rates = [
            f"{f[k]:.1%}" if f else "" for k in ("accuracy", "contradiction_rate") for f in found
        ]
        return [label, found[0].get("items", 0), *rates]

    rows = [row(r, lambda d, r=r: d.get("by_register", {}).get(r)) for r in registers]
    rows.append(row("all", lambda d: d))
    sources = "; ".join(
        f"{role}: " + ", ".join(f"{k} {v}" for k, v in data.get("by_source", {}).items())
        for role, data in roles.items()
    )
    columns = ["question", "register", "fact", "incumbent", "candidate", "sources"]
    changed = [[c[k] for k in columns] for c in facts.get("changed") or []]
    lost = f"<p>Verdicts the candidate changed (lost first):</p>{_table(columns, changed)}"
    return (
        f"{_table(header, rows)}<p>Where the answers came from: {html.escape(sources)}</p>"
        f"{lost if changed else ''}"
    )


_STYLE = """
body{font-family:system-ui,'Noto Sans Bengali',sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;
vertical-align:top;text-align:left}th{background:#f3f3f3}img{max-width:100%}
pre{background:#f6f6f6;padding:1em;overflow:auto}
"""


def render_html(report: Mapping[str, Any], charts: Mapping[str, Path | None]) -> str:
    """The whole report as one HTML page; charts are embedded, nothing is linked."""
    title = f"uttor retrain run {report.get('run_id')}"
    training = report.get("training") or {}
    facts = [
        ("status", report.get("status")),
        ("decision", report.get("decision")),
        ("reason", report.get("reason")),
        ("incumbent", report.get("incumbent_note")),
        ("trigger", report.get("trigger")),
        ("started", report.get("started_at")),
        ("wall time", f"{report['seconds']:.0f} s" if report.get("seconds") else None),
        ("base model", report.get("base_model")),
        ("new database pairs", report.get("new_pairs")),
        ("training", _training_line(training)),
        ("error", report.get("error")),
    ]
    rows = [[k, v] for k, v in facts if v not in (None, "")]
    export = report.get("export")
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        _table(["", ""], rows),
        "<h2>ROUGE</h2>",
        _metrics_table(report),
        _image(charts.get("rouge")),
        "<h2>Gate</h2>",
        _checks_list(report) or "<p>The gate did not run.</p>",
        "<h2>Fact accuracy</h2>",
        _facts_section(report),
        "<h2>Per language</h2>",
        _language_table(report) or "<p>No per-language scores.</p>",
        "<h2>Training loss</h2>",
        _image(charts.get("loss")) or "<p>No training in this run.</p>",
        "<h2>Sample answers</h2>",
        _samples_table(report) or "<p>No samples.</p>",
        "<h2>Data</h2>",
        f"<pre>{html.escape(json.dumps(export, ensure_ascii=False, indent=1))}</pre>"
        if export
        else "<p>No export.</p>",
    ]
    body = "\n".join(sections)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def _training_line(training: Mapping[str, Any]) -> str | None:
    if not training.get("steps"):
        return None
    return (
        f"{training['epochs']} epochs, {training['steps']} steps, "
        f"{training.get('seconds', 0):.0f} s, {training.get('tokens_per_s', 0):.0f} tokens/s, "
        f"final epoch loss {training.get('final_loss', float('nan')):.3f}"
    )


def write_report(report: Mapping[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write the JSON, the charts and the HTML into ``out_dir``; returns what was written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = {
        "rouge": rouge_chart(report, out_dir / REPORT_FILES["rouge"]),
        "loss": loss_chart(report, out_dir / REPORT_FILES["loss"]),
    }
    json_path = out_dir / REPORT_FILES["json"]
    json_path.write_text(
        json.dumps(report, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8"
    )
    html_path = out_dir / REPORT_FILES["html"]
    html_path.write_text(render_html(report, charts), encoding="utf-8")
    written = {"json": json_path, "html": html_path}
    written.update({name: path for name, path in charts.items() if path is not None})
    return written
