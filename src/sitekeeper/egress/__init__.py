"""Where sitekeeper's own outgoing connections may go: one policy, checked after DNS.

``policy`` says which addresses a feature may reach (and why not); ``aio`` applies it
to aiohttp sessions (probes, feeds, advisories), ``blocking`` to libraries that open
their own sockets in a worker thread (Apprise). See docs/security.md, "Egress".
"""
