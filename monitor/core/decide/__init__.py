"""Decisions, as pure functions: what to do, never doing it (after reader's ``_update`` decider).

:mod:`.retry` is the one backoff policy (feeds, deliveries, database outages)
and the lease of a delivery's claim; :mod:`.poll` decides what a poll changes in
its feed and when a feed is polled next; :mod:`.route` decides whether a
delivery is sent now or held (quiet hours, digest, same story, throttle). The
store records what they decide. Nothing here touches anything outside itself.
"""
