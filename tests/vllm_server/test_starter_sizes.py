"""``uttor init --size``: the starter sizes, and the large one's fit for GPU serving."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.starter import DEFAULT_NAME, QUICK_NAME
from tests.shared.cli import run_cli
from training.starter_config import DEFAULT, LARGE, QUICK, SIZES


def test_sizes_are_named_and_grow() -> None:
    assert SIZES == {"quick": QUICK, "default": DEFAULT, "large": LARGE}
    assert (QUICK.name, DEFAULT.name) == (QUICK_NAME, DEFAULT_NAME)
    assert len({config.name for config in SIZES.values()}) == 3  # one folder each

    def parameters(config: object) -> int:
        h, inner = config.hidden_size, config.intermediate_size  # type: ignore[attr-defined]
        per_layer = 4 * h * h + 3 * h * inner
        return config.vocab_size * h + config.num_layers * per_layer  # type: ignore[attr-defined]

    assert parameters(QUICK) < parameters(DEFAULT) < parameters(LARGE)
    assert 40e6 < parameters(LARGE) < 120e6
    # Head size 64 and a multiple-of-16 width: what vLLM's attention kernels and NF4 expect.
    assert LARGE.hidden_size // LARGE.num_heads == 64
    assert LARGE.hidden_size % LARGE.num_heads == 0 and LARGE.intermediate_size % 16 == 0
    assert LARGE.threads is None  # pretraining uses every core of the host


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["init", "--size", "huge"], "--size must be one of quick, default, large"),
        (["init", "--quick", "--size", "large"], "two different models"),
    ],
)
def test_bad_sizes_are_refused_before_anything_is_built(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("UTTOR_HOME", str(tmp_path / "home"))
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and message in err
    assert not (tmp_path / "home").exists()


def test_init_builds_the_large_size_in_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    from dataclasses import replace

    from model.starter import is_starter_model
    from tests.shared.tiny_models import TINY

    # The large recipe, shrunk to seconds: what is tested is where it goes and what init says.
    monkeypatch.setitem(SIZES, "large", replace(TINY, name=LARGE.name, steps=2))
    monkeypatch.setenv("UTTOR_HOME", str(tmp_path / "home"))
    code, out, err = run_cli(["init", "--size", "large", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    folder = tmp_path / "home" / "models" / LARGE.name
    assert result["base_model"] == str(folder) and is_starter_model(folder)
    assert f"UTTOR_BASE_MODEL={folder.resolve()}" in result["note"]
    # Serving's default lookup is untouched: no default or quick starter was built.
    assert not (tmp_path / "home" / "models" / DEFAULT_NAME).exists()
