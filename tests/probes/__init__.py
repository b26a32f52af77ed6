"""Tests of the probes, against real servers on loopback."""
