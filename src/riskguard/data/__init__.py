"""Data shipped with the package: the instrument-rules snapshot and examples."""
