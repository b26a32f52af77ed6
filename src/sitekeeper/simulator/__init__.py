"""A loopback fleet of fake websites, for tests and benchmarks (never for production)."""

from sitekeeper.simulator.fleet import Fleet, SiteSpec, parse_latency, site_address

__all__ = ["Fleet", "SiteSpec", "parse_latency", "site_address"]
