"""Bot integrations: riskguard inside other trading frameworks (optional; no framework code shipped)."""
