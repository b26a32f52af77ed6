"""The outside security probe: one module per check kind, each registered in ``CHECKS``.

``probe`` fetches a site's home page and a random path (the soft-404 baseline) once,
then runs every registered check on them; checks ask for more pages through the
site's bounded :class:`~sitekeeper.probes.security.fetch.SiteFetcher`.
"""
