"""The engine: one runner path for all work, the scheduler, and the dispatchers.

A job is claimed from the store, run by its runner, and its results are
persisted with their journal events; dispatchers only decide *where* it runs.
"""
