"""Live risk monitoring: reconciliation of the ledger with the exchange (``riskguard.monitor.reconcile``)."""
