"""Pure types and rules: no I/O, no imports of sitekeeper modules that do I/O."""
