"""docs/configuration.md and .env.example, generated from :class:`wiring.settings.Settings`.

``python -m wiring.reference`` rewrites both files; ``--check`` only compares them and exits
1 when they are stale (tests/wiring/test_settings.py runs the comparison), so the
reference can never drift from the settings object.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from wiring.settings import FILLS, Settings

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "configuration.md"
ENV = ROOT / ".env.example"
#: Sections of the reference: a heading and the settings in it, in the class's order.
SECTIONS: list[tuple[str, str]] = [
    ("Core", "home"),
    ("Telegram bot (bot/)", "rate_limit_per_min"),
    ("Nightly retraining (training/)", "min_new_pairs"),
    ("Model serving (model/)", "device"),
]


def env_name(name: str) -> str:
    return f"UTTOR_{name.upper()}"


def default_text(info: FieldInfo) -> str:
    """The default as an operator would write it in the environment ("" when unset)."""
    value: Any = info.get_default(call_default_factory=True)
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _sections() -> list[tuple[str, list[tuple[str, FieldInfo]]]]:
    fields = list(Settings.model_fields.items())
    starts = {first: title for title, first in SECTIONS}
    grouped: list[tuple[str, list[tuple[str, FieldInfo]]]] = []
    for name, info in fields:
        if name in starts:
            grouped.append((starts[name], []))
        grouped[-1][1].append((name, info))
    return grouped


def markdown() -> str:
    lines = [
        "# Configuration reference",
        "",
        "Generated from `wiring/settings.py` by `python -m wiring.reference`; do not edit by",
        "hand (a test fails when this page and the settings differ). Every setting is an",
        "environment variable, or a line of a `.env` file in the working directory;",
        "`.env.example` lists them all, commented out. Where a setting fills a field of a",
        "part's configuration dataclass, the last column names it: its default comes from there.",
        "",
    ]
    for title, fields in _sections():
        lines += [
            f"## {title}",
            "",
            "| variable | default | meaning | fills |",
            "|---|---|---|---|",
        ]
        for name, info in fields:
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            fills = f"`{extra[FILLS]}`" if FILLS in extra else ""
            default = default_text(info)
            shown = f"`{default}`" if default else "unset"
            meaning = (info.description or "").replace("|", "\\|")
            lines.append(f"| `{env_name(name)}` | {shown} | {meaning} | {fills} |")
        lines.append("")
    return "\n".join(lines)


def env_example() -> str:
    lines = [
        "# uttor settings: copy to .env and uncomment what you change.",
        "# Generated from wiring/settings.py by `python -m wiring.reference`;",
        "# docs/configuration.md explains each one.",
    ]
    for title, fields in _sections():
        lines += ["", f"# --- {title} ---"]
        for name, info in fields:
            lines.append(f"# {info.description}")
            lines.append(f"# {env_name(name)}={default_text(info)}")
    return "\n".join(lines) + "\n"


def stale() -> list[Path]:
    """The generated files whose content differs from what the settings give."""
    wanted = {DOC: markdown(), ENV: env_example()}
    return [
        path
        for path, text in wanted.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        found = stale()
        for path in found:
            print(f"{path.relative_to(ROOT)} is stale: run python -m wiring.reference")
        return 1 if found else 0
    DOC.write_text(markdown(), encoding="utf-8")
    ENV.write_text(env_example(), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)} and {ENV.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
