"""Podium: success tracking and leaderboards."""

__version__ = "0.1.0"
