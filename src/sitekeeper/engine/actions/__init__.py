"""Task handlers: one class per task kind, registered with ``@register("task", kind)``.

Each calls the function the matching CLI command calls (and ``serve`` runs
on its schedule), so an action started from the API or the UI does exactly
what the command does. Adding a kind is one module here; nothing else lists them.
"""
