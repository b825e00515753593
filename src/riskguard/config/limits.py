"""The posture compiled for the hot path: frozen slotted dataclasses of plain floats, times in ms."""

from __future__ import annotations

from dataclasses import dataclass

from riskguard.config.hashing import config_hash
from riskguard.config.pyramiding_schema import PyramidingSection
from riskguard.config.schema import DEFAULT_KEY, Posture

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class SymbolLimits:
    """Per-symbol caps: gross exposure (fraction of NAV) and requested leverage (x)."""

    max_nav_pct: float
    max_leverage: float


@dataclass(frozen=True, slots=True)
class PyramidRule:
    """A pyramiding section (``exits.pyramiding`` or a strategy's own) as plain numbers: R
    multiples, a fraction, milliseconds (see riskguard.config.pyramiding_schema)."""

    max_adds: int
    min_profit_r: float
    size_ratio: float
    max_combined_risk_r: float
    min_add_distance_r: float = 0.0
    min_add_interval_ms: float = 0.0
    pause_when_size_reduced: bool = True


def compile_pyramid_rule(section: PyramidingSection) -> PyramidRule:
    """Compile a validated pyramiding section."""
    return PyramidRule(section.max_adds, section.min_profit_r, section.size_ratio, section.max_combined_risk_r,
                       section.min_add_distance_r, section.min_add_interval_s * 1000.0,
                       section.pause_when_size_reduced)


@dataclass(frozen=True, slots=True)
class StrategyLimits:
    """Per-strategy concurrency, cooldowns (ms) and pyramiding rule."""

    max_concurrent_positions: int
    cooldown_flat_ms: float
    cooldown_open_ms: float
    pyramid: PyramidRule


@dataclass(frozen=True, slots=True)
class Limits:
    """Every threshold the gates read, precomputed once per posture."""

    posture: Posture
    config_hash: str
    name: str
    allowed_symbols: frozenset[str]
    allowed_symbols_sorted: tuple[str, ...]
    resize_to_fit: bool
    nav_max_age_ms: float
    market_max_age_ms: float
    max_clock_skew_ms: float
    max_trade_nav_pct: float
    equity_clamp_nav_pct: float
    equity_clamp_margin_basis: bool  # True: the clamp measures initial margin (notional / leverage)
    liquidation_buffer_pct: float
    unknown_margin_blocks: bool
    max_loss_nav_pct: float
    default_stop_distance_pct: float
    min_reward_risk: float
    min_confidence: float
    min_notional_usdt: float
    max_price_deviation_pct: float
    max_spread_bps: float
    max_feed_latency_ms: float
    symbols: dict[str, SymbolLimits]
    default_symbol: SymbolLimits
    strategies: dict[str, StrategyLimits]
    default_strategy: StrategyLimits
    max_open_positions: int
    max_open_positions_high_confidence: int
    high_confidence_threshold: float
    max_gross_nav_multiple: float
    max_same_direction_nav_pct: float
    max_total_risk_nav_pct: float
    max_trades_per_day: int
    max_orders_per_window: int
    order_rate_window_ms: float
    daily_drawdown_halt_pct: float
    max_cvar_nav_pct: float
    cvar_alpha: float
    cvar_window: int
    cvar_min_history: int
    group_caps: dict[str, float]
    symbol_groups: dict[str, tuple[str, ...]]
    min_source_credibility: float
    unknown_source_credibility: float
    source_scores: dict[str, float]
    allowed_weekdays: frozenset[int]
    blackout_minutes: tuple[tuple[int, int], ...]
    soft_gates: frozenset[str]
    max_soft_failures: int
    reservation_ttl_ms: float

    def symbol(self, symbol: str) -> SymbolLimits:
        """Limits of ``symbol``, or the posture's default."""
        return self.symbols.get(symbol, self.default_symbol)

    def strategy(self, strategy: str) -> StrategyLimits:
        """Limits of ``strategy``, or the posture's default."""
        return self.strategies.get(strategy, self.default_strategy)



def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def compile_limits(posture: Posture) -> Limits:
    """Flatten a validated posture into :class:`Limits`."""
    trade, portfolio = posture.trade, posture.portfolio
    symbols = {name: SymbolLimits(s.max_nav_pct, s.max_leverage) for name, s in posture.symbols.items()}
    account_pyramid = compile_pyramid_rule(posture.exits.pyramiding)
    strategies = {
        name: StrategyLimits(s.max_concurrent_positions, s.cooldown_flat_s * 1000.0, s.cooldown_open_s * 1000.0,
                             account_pyramid if s.pyramiding is None else compile_pyramid_rule(s.pyramiding))
        for name, s in posture.strategies.items()
    }
    symbol_groups: dict[str, list[str]] = {}
    for group, spec in portfolio.correlation_groups.items():
        for sym in spec.symbols:
            symbol_groups.setdefault(sym, []).append(group)
    blackouts = []
    for window in posture.trading_window.blackout_utc:
        start, end = window.split("-")
        blackouts.append((_minutes(start), _minutes(end)))
    return Limits(
        posture=posture,
        config_hash=config_hash(posture),
        name=posture.name,
        allowed_symbols=frozenset(posture.allowed_symbols),
        allowed_symbols_sorted=tuple(sorted(set(posture.allowed_symbols))),
        resize_to_fit=posture.resize_to_fit,
        nav_max_age_ms=posture.account.nav_max_age_s * 1000.0,
        market_max_age_ms=posture.account.market_max_age_s * 1000.0,
        max_clock_skew_ms=posture.account.max_clock_skew_s * 1000.0,
        max_trade_nav_pct=trade.max_trade_nav_pct,
        equity_clamp_nav_pct=trade.equity_clamp_nav_pct,
        equity_clamp_margin_basis=trade.equity_clamp_basis == "margin",
        liquidation_buffer_pct=trade.liquidation_buffer_pct,
        unknown_margin_blocks=posture.account.unknown_margin_blocks,
        max_loss_nav_pct=trade.max_loss_nav_pct,
        default_stop_distance_pct=trade.default_stop_distance_pct,
        min_reward_risk=trade.min_reward_risk,
        min_confidence=trade.min_confidence,
        min_notional_usdt=trade.min_notional_usdt,
        max_price_deviation_pct=trade.max_price_deviation_pct,
        max_spread_bps=trade.max_spread_bps,
        max_feed_latency_ms=trade.max_feed_latency_ms,
        symbols={k: v for k, v in symbols.items() if k != DEFAULT_KEY},
        default_symbol=symbols[DEFAULT_KEY],
        strategies={k: v for k, v in strategies.items() if k != DEFAULT_KEY},
        default_strategy=strategies[DEFAULT_KEY],
        max_open_positions=portfolio.max_open_positions,
        max_open_positions_high_confidence=portfolio.max_open_positions_high_confidence,
        high_confidence_threshold=portfolio.high_confidence_threshold,
        max_gross_nav_multiple=portfolio.max_gross_nav_multiple,
        max_same_direction_nav_pct=portfolio.max_same_direction_nav_pct,
        max_total_risk_nav_pct=portfolio.max_total_risk_nav_pct,
        max_trades_per_day=portfolio.max_trades_per_day,
        max_orders_per_window=portfolio.max_orders_per_window,
        order_rate_window_ms=portfolio.order_rate_window_s * 1000.0,
        daily_drawdown_halt_pct=portfolio.daily_drawdown_halt_pct,
        max_cvar_nav_pct=portfolio.max_cvar_nav_pct,
        cvar_alpha=portfolio.cvar_alpha,
        cvar_window=portfolio.cvar_window,
        cvar_min_history=portfolio.cvar_min_history,
        group_caps={g: spec.max_nav_pct for g, spec in portfolio.correlation_groups.items()},
        symbol_groups={s: tuple(gs) for s, gs in symbol_groups.items()},
        min_source_credibility=posture.sources.min_credibility,
        unknown_source_credibility=posture.sources.unknown_source_credibility,
        source_scores=dict(posture.sources.scores),
        allowed_weekdays=frozenset(_WEEKDAYS.index(d) for d in posture.trading_window.allowed_weekdays),
        blackout_minutes=tuple(blackouts),
        soft_gates=frozenset(posture.gates.soft),
        max_soft_failures=posture.gates.max_soft_failures,
        reservation_ttl_ms=posture.ledger.reservation_ttl_s * 1000.0,
    )
