"""The content probe: SEO spam, defacement and cloaking, one module per job.

``page_facts`` reads a page (bounded), ``snapshot`` keeps what a baseline needs of it,
``compare`` finds what changed since the baseline, ``cloaking`` what only a crawler or a
phone is served, ``sitemap`` which pages to look at and which URLs are new; ``probe``
fetches and puts them together.
"""
