"""The language labels uttor routes messages to, and the registers it answers in.

One spelling for every folder that names languages (routing, the reply policy, the pipeline,
the export, the starter corpus, the benchmarks). ``storage/`` keeps its own copy of these
tuples because it imports nothing of ours; ``tests/model/test_languages.py`` keeps the copies
equal to these.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["LABELS", "PREFERRED", "REGISTERS", "Label", "Preferred", "Register"]

Preferred = Literal["bn", "en", "banglish"]
"""Reply languages a customer can ask for with ``/lang`` (``mixed`` is answered, not chosen)."""

Register = Literal[Preferred, "mixed"]
"""The customer registers answered in kind: Bangla in Bengali script, English, Banglish
(romanized Bangla) and mixed (Bengali script with English words)."""

Label = Literal[Register, "other", "und"]
"""A routed language label: a register, ``other`` (a language uttor does not serve) or ``und``
(no language content: emoji, digits, an order id)."""

PREFERRED: tuple[Preferred, ...] = get_args(Preferred)
REGISTERS: tuple[Register, ...] = get_args(Register)
LABELS: tuple[Label, ...] = get_args(Label)
