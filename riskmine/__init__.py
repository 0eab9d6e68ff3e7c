"""riskmine: mining product quality-safety risk signals from Chinese text."""

__version__ = "0.1.0"
