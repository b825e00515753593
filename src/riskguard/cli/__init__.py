"""The ``riskguard`` command line (Typer + Rich). Entry point: :func:`riskguard.cli.app.main`."""
