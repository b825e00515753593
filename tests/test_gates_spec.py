"""Each gate is declared once by its spec; the posture schema, `config explain` and the evaluation
agree with the specs."""

from __future__ import annotations

from conftest import buy, make_engine
from riskguard.config import preset
from riskguard.config.core_schema import SOFTENABLE_GATES, GatesSection
from riskguard.gates import GATE_NAMES, GATES, SIZE_BOUND_GATES, gate
from riskguard.gates.explain import explain
from riskguard.model.enums import Severity


def test_every_reason_code_is_declared_by_exactly_one_spec() -> None:
    assert len(set(GATE_NAMES)) == len(GATES) == 44


def test_the_size_bound_gates_are_the_caps_with_a_headroom() -> None:
    caps = {"trade_gt_max_trade_nav_pct", "trade_gt_10pct_equity", "symbol_nav_cap_exceeded", "max_loss_exceeded",
            "gross_exposure_exceeded", "correlated_exposure_exceeded", "same_direction_exposure_exceeded",
            "total_risk_exceeded", "cvar_limit_exceeded", "margin_insufficient", "liquidation_too_close",
            "pyramid_size_exceeded", "pyramid_risk_exceeded"}
    assert caps == SIZE_BOUND_GATES


def test_the_posture_schema_softens_by_default_exactly_the_gates_whose_spec_is_soft() -> None:
    # The posture (layer 0) cannot import the gates (layer 2): this holds the two declarations equal.
    assert set(GatesSection().soft) == {g.reason for g in GATES if g.severity is Severity.SOFT}


def test_a_posture_may_soften_exactly_the_gates_whose_spec_allows_it() -> None:
    assert set(SOFTENABLE_GATES) == {g.reason for g in GATES if g.may_be_soft}


def test_every_posture_setting_a_spec_reads_exists() -> None:
    # Optional sections (a strategy's own pyramiding rule) are set so that their settings are listed.
    moderate = preset("moderate")
    strategies = {name: s.model_copy(update={"pyramiding": moderate.exits.pyramiding})
                  for name, s in moderate.strategies.items()}
    paths = [row.path for row in explain(moderate.model_copy(update={"strategies": strategies}))]
    unread = [(g.reason, pattern) for g in GATES for pattern in g.reads
              if not any(g.reads_path(path) for path in paths if _matches(pattern, path))]
    assert unread == []


def _matches(pattern: str, path: str) -> bool:
    wanted, parts = pattern.split("."), path.split(".")
    return len(wanted) == len(parts) and all(w in ("*", p) for w, p in zip(wanted, parts, strict=True))


def test_config_explain_names_every_gate_that_reads_a_setting() -> None:
    gates = {row.path: row.gate for row in explain(preset("moderate"))}
    assert gates["trade.max_trade_nav_pct"] == "trade_gt_max_trade_nav_pct"
    assert gates["trade.equity_clamp_nav_pct"] == "trade_gt_10pct_equity"
    assert gates["symbols.BTCUSDT.max_leverage"] == "leverage_exceeded"
    assert gates["portfolio.max_open_positions"] == "global_concurrency_exceeded"
    assert gates["trade.default_stop_distance_pct"] == "liquidation_too_close, max_loss_exceeded, pyramid_risk_exceeded"
    assert gates["exits.pyramiding.max_adds"] == "pyramid_add_limit"
    assert gates["symbols.SOLUSDT.max_nav_pct"] == "symbol_nav_cap_exceeded"
    assert gates["portfolio.correlation_groups.majors.max_nav_pct"] == "correlated_exposure_exceeded"
    assert gates["allowed_symbols"] == "symbol_not_allowed"
    assert gates["name"] is None


def test_a_gate_is_found_by_its_reason_code() -> None:
    assert gate("nav_stale").exempt_when_reducing
    assert not gate("duplicate_intent").exempt_when_reducing


def test_a_decision_reports_one_check_per_spec_in_spec_order() -> None:
    _, detail = make_engine().check_order(buy())
    assert [c["gate"] for c in detail["checks"]] == list(GATE_NAMES)
