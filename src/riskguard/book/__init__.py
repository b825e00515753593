"""The incrementally maintained portfolio view the gates read."""

from riskguard.book.book import DAY_MS, Book, SymbolExposure
from riskguard.book.cvar import PortfolioCvar
from riskguard.book.reservation import Reservation

__all__ = ["DAY_MS", "Book", "PortfolioCvar", "Reservation", "SymbolExposure"]
