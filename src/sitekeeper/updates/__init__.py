"""Safe updates: fetch and verify a package, snapshot the site, apply it with the CMS's
own machinery, check the site from outside, and roll back from the snapshot if it broke.
"""
