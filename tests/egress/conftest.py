"""The notification tests' loopback SMTP server, for the alert egress tests."""

from tests.notify.conftest import smtp_server

__all__ = ["smtp_server"]
