"""Malware and web-shell detection in a site's files with YARA (issue 12 §2).

``rules`` compiles the project's own rule set (``rules/*.yar``, shipped in the
package) with the agency's rule directories, once per process; ``scanner``
runs it over bytes or a file, bounded in size and time, and returns typed
matches whose snippets are safe to print; ``tree`` walks a local folder for
``sitekeeper scan-files``. What is scanned comes from a client's server: it
is data, matched and quoted, never run.
"""
