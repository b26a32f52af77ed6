"""Monthly client reports: the period, the figures computed from stored records, and
(later) their HTML and PDF."""
