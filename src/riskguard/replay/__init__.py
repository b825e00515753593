"""Replay of signals over OHLCV with the real engine in the loop. This package so far holds the
data side: file loaders (``riskguard.replay.data``) and the labelled synthetic sample
(``riskguard.replay.synthetic``)."""
