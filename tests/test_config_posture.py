"""Postures: presets carry section A's numbers, every format loads the same posture, errors name the
file and the field, caps can be neither zero, negative, infinite nor missing, env overrides apply."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from riskguard.config import PostureError, config_hash, diff, load_config, preset, preset_data


def test_moderate_preset_carries_section_a_numbers_exactly() -> None:
    posture = preset("moderate")
    assert posture.trade.max_trade_nav_pct == 0.20
    assert posture.trade.equity_clamp_nav_pct == 0.15
    assert {s: posture.symbols[s].max_nav_pct for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")} == {
        "BTCUSDT": 0.25, "ETHUSDT": 0.20, "SOLUSDT": 0.15}
    assert {s: posture.symbols[s].max_leverage for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")} == {
        "BTCUSDT": 4, "ETHUSDT": 4, "SOLUSDT": 3}
    assert all(s.max_concurrent_positions >= 3 for s in posture.strategies.values())
    assert posture.portfolio.max_open_positions == 4
    assert posture.portfolio.max_open_positions_high_confidence == 4


@pytest.mark.parametrize("name", ["conservative", "moderate", "aggressive"])
def test_every_preset_validates_and_has_a_stable_hash(name: str) -> None:
    assert config_hash(preset(name)) == config_hash(preset(name))
    assert len(config_hash(preset(name))) == 16


def test_presets_are_ordered_from_cautious_to_active() -> None:
    c, m, a = (preset(n) for n in ("conservative", "moderate", "aggressive"))
    assert c.trade.max_trade_nav_pct < m.trade.max_trade_nav_pct < a.trade.max_trade_nav_pct
    assert c.portfolio.max_open_positions < m.portfolio.max_open_positions < a.portfolio.max_open_positions


def test_yaml_json_and_toml_files_load_the_same_posture_and_hash(tmp_path: Path) -> None:
    data = preset_data("moderate")
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "p.json").write_text(json.dumps(data))
    toml_lines = _to_toml(data)
    (tmp_path / "p.toml").write_text(toml_lines)
    assert tomllib.loads(toml_lines)  # the writer below produced valid TOML
    hashes = {config_hash(load_config(tmp_path / f"p.{ext}", environ={})) for ext in ("yaml", "json", "toml")}
    assert hashes == {config_hash(preset("moderate"))}


def test_negative_cap_is_refused_naming_the_file_and_the_field(tmp_path: Path) -> None:
    data = preset_data("moderate")
    data["trade"]["max_trade_nav_pct"] = -0.1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PostureError) as error:
        load_config(path, environ={})
    assert "bad.yaml" in str(error.value)
    assert any(field == "trade.max_trade_nav_pct" for field, _ in error.value.problems)


@pytest.mark.parametrize("value", [0, ".inf", ".nan"])
def test_zero_infinite_or_nan_caps_are_refused(tmp_path: Path, value: object) -> None:
    text = yaml.safe_dump(preset_data("moderate")).replace("max_open_positions: 4", f"max_open_positions: {value}")
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(PostureError) as error:
        load_config(path, environ={})
    assert any("max_open_positions" in field for field, _ in error.value.problems)


def test_missing_default_strategy_is_refused() -> None:
    data = preset_data("moderate")
    del data["strategies"]["default"]
    path_error = pytest.raises(PostureError)
    with path_error as error:
        from riskguard.config import validate_posture
        validate_posture(data, "inline")
    assert any(field == "strategies" for field, _ in error.value.problems)


def test_typo_in_a_setting_is_refused_not_ignored() -> None:
    data = preset_data("moderate")
    data["trade"]["max_trade_nav_pc"] = 0.5
    from riskguard.config import validate_posture
    with pytest.raises(PostureError) as error:
        validate_posture(data, "inline")
    assert any("max_trade_nav_pc" in field for field, _ in error.value.problems)


def test_high_confidence_cap_below_the_normal_cap_is_refused() -> None:
    data = preset_data("moderate")
    data["portfolio"]["max_open_positions_high_confidence"] = 2
    from riskguard.config import validate_posture
    with pytest.raises(PostureError):
        validate_posture(data, "inline")


def test_environment_overrides_nested_fields_and_symbol_entries(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(preset_data("moderate")))
    posture = load_config(path, environ={"RISKGUARD_TRADE__MAX_TRADE_NAV_PCT": "0.18",
                                         "RISKGUARD_SYMBOLS__BTCUSDT__MAX_LEVERAGE": "3",
                                         "RISKGUARD_DB_URL": "sqlite:///ignored.db"})
    assert posture.trade.max_trade_nav_pct == 0.18
    assert posture.symbols["BTCUSDT"].max_leverage == 3
    assert config_hash(posture) != config_hash(preset("moderate"))


def test_bad_environment_override_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(preset_data("moderate")))
    with pytest.raises(PostureError) as error:
        load_config(path, environ={"RISKGUARD_PORTFOLIO__MAX_OPEN_POSITIONS": "-1"})
    assert "overrides" in error.value.source
    assert any(field == "portfolio.max_open_positions" for field, _ in error.value.problems)


def test_diff_lists_exactly_the_changed_settings() -> None:
    changes = {c.path: (c.left, c.right) for c in diff(preset("moderate"), preset("aggressive"))}
    assert changes["trade.max_trade_nav_pct"] == (0.20, 0.30)
    assert "trade.min_notional_usdt" not in changes


def test_unknown_file_extension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.ini"
    path.write_text("x")
    with pytest.raises(PostureError, match="extension"):
        load_config(path, environ={})


def _to_toml(data: dict[str, object], prefix: str = "") -> str:
    """A minimal TOML writer for the posture's shapes (tables, scalars, lists of scalars)."""
    scalars, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            scalars.append(f"{key} = {json.dumps(value)}")
    text = (f"[{prefix}]\n" if prefix and scalars else "") + "\n".join(scalars) + ("\n" if scalars else "")
    for key, value in tables:
        text += "\n" + _to_toml(value, f"{prefix}.{key}" if prefix else key)
    return text
