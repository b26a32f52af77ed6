"""sitekeeper: run website maintenance contracts for a fleet of client sites from one place."""

__version__ = "0.1.0"
