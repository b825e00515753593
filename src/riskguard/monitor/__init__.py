"""The live risk monitor: metrics, alerts, drawdown actions that act through the exchange, the
durable kill switch, the staged recovery and reconciliation of the ledger with the exchange
(layer 5: reads the ledger, acts through an ``Exchange``, never decides an order itself)."""
