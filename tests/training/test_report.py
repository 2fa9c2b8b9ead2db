"""Reports: JSON, self-contained HTML, the two charts, and a caption-sized summary."""

from __future__ import annotations

import json
from pathlib import Path

from training.report import CAPTION_LIMIT, summary_text, write_report

SCORES = {"rouge1": 0.16, "rouge2": 0.02, "rougeL": 0.11, "rougeLsum": 0.11}
BETTER = {"rouge1": 0.21, "rouge2": 0.07, "rougeL": 0.16, "rougeLsum": 0.16}


def report(**extra) -> dict:
    return {
        "run_id": 3,
        "status": "succeeded",
        "decision": "promoted",
        "reason": "rougeL 0.16 vs 0.11",
        "seconds": 120.0,
        "gate_metric": "rougeL",
        "models": {"base": "base model", "active": None, "candidate": "r0003"},
        "metrics": {"base": SCORES, "active": None, "candidate": BETTER},
        "difference": {"rougeL": {"delta": 0.05, "low": 0.03, "high": 0.07}},
        "languages": {
            "counts": {"bn": 60, "en": 60},
            "base": {"bn": SCORES, "en": SCORES},
            "candidate": {"bn": BETTER, "en": BETTER},
        },
        "gate": {
            "promote": True,
            "checks": [{"name": "improvement", "passed": True, "reason": "beats <base>"}],
        },
        "training": {
            "epochs": 2,
            "steps": 4,
            "seconds": 10,
            "tokens_per_s": 100,
            "final_loss": 1.9,
            "loss_steps": [[0.5, 3.0], [1.0, 2.5], [1.5, 2.0]],
            "loss_epochs": [[1, 2.75], [2, 1.9]],
        },
        "samples": [
            {
                "question": "<script>alert(1)</script> কত?",
                "language": "bn",
                "reference": "৬০ টাকা",
                "incumbent": "জানি না",
                "candidate": "৬০ টাকা",
            }
        ],
        **extra,
    }


def test_all_files_are_written_and_html_is_self_contained(tmp_path: Path) -> None:
    written = write_report(report(), tmp_path)
    assert set(written) == {"json", "html", "rouge", "loss"}
    for name in ("rouge", "loss"):
        assert written[name].read_bytes().startswith(b"\x89PNG")
    html = written["html"].read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2
    assert "http://" not in html and "https://" not in html and "<link" not in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html  # customer text escaped
    assert "৬০ টাকা" in html
    assert json.loads(written["json"].read_text(encoding="utf-8"))["run_id"] == 3


def test_skipped_runs_have_no_charts(tmp_path: Path) -> None:
    skipped = {"run_id": 4, "status": "succeeded", "decision": "skipped", "reason": "3 new pairs"}
    written = write_report(skipped, tmp_path)
    assert set(written) == {"json", "html"}
    assert "3 new pairs" in written["html"].read_text(encoding="utf-8")


def test_summary_fits_a_photo_caption() -> None:
    text = summary_text(report())
    assert "promoted" in text and "ROUGE-L 0.160" in text and "95% CI +0.0300" in text
    long = summary_text(report(reason="x" * 3000))
    assert len(long) <= CAPTION_LIMIT


GATE = {
    "promote": False,
    "confidence": 0.9,
    "checks": [
        {
            "name": "improvement",
            "passed": True,
            "reason": "rougeL gain +0.0440",
            "intervals": {
                "rougeL": {
                    "delta": 0.044,
                    "low": 0.033,
                    "high": 0.056,
                    "confidence": 0.9,
                    "items": 240,
                }  # fmt: skip
            },
        },
        {
            "name": "facts",
            "passed": False,
            "reason": "fact accuracy falls",
            "intervals": {
                "fact accuracy": {
                    "delta": -0.1,
                    "low": -0.15,
                    "high": -0.05,
                    "confidence": 0.9,
                    "items": 200,
                }  # fmt: skip
            },
        },
    ],
}
FACTS = {
    "roles": {
        role: {
            "name": name,
            "items": 200,
            "accuracy": accuracy,
            "contradiction_rate": 0.02,
            "by_register": {"bn": {"items": 50, "accuracy": accuracy, "contradiction_rate": 0.0}},
            "by_source": {"knowledge": 150, "model": 50},
        }
        for role, name, accuracy in (("incumbent", "r1", 0.9), ("candidate", "r2", 0.8))
    },
    "error": None,
    "changed": [
        {
            "question": "হটলাইন নম্বর কত?",
            "register": "bn",
            "fact": "hotline",
            "incumbent": "১৬৭৮৯",
            "candidate": "<PHONE>",
            "candidate_right": False,
            "sources": "knowledge / model",
        }
    ],
}


def test_the_report_shows_the_intervals_the_gate_decided_on_and_fact_accuracy(
    tmp_path: Path,
) -> None:
    data = report(
        decision="rejected",
        gate=GATE,
        facts=FACTS,
        incumbent_note="the active adapter could not be loaded (truncated); compared with the base",
    )
    text = summary_text(data)
    # The improvement check's own interval, at the configured confidence (not the 95 % default).
    assert "rougeL gain +0.0440 (90% CI +0.0330 to +0.0560)" in text
    assert "fact accuracy: incumbent 90.0% (contradictions 2.0%), candidate 80.0%" in text
    assert "compared with the base" in text
    html = write_report(data, tmp_path)["html"].read_text(encoding="utf-8")
    assert "Paired bootstrap intervals at 90% confidence" in html
    assert "<td>fact accuracy</td><td>200</td><td>-0.1000</td><td>-0.1500</td>" in html
    assert "<h2>Fact accuracy</h2>" in html and "<td>bn</td><td>50</td><td>90.0%</td>" in html
    assert "knowledge 150, model 50" in html and "&lt;PHONE&gt;" in html
    assert "compared with the base" in html


def test_facts_not_measured_say_why(tmp_path: Path) -> None:
    data = report(facts={"roles": {}, "error": "RuntimeError: no scratch copy", "changed": []})
    assert "fact accuracy not measured: RuntimeError: no scratch copy" in summary_text(data)
    html = write_report(data, tmp_path)["html"].read_text(encoding="utf-8")
    assert "Not measured: RuntimeError: no scratch copy." in html
