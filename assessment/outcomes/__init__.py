"""Registry statistics for the outcomes page: time to resolution of lesions.

``km`` turns durations and events into the page's Kaplan–Meier figures (pure Python and
lifelines; no Django). ``registry`` reads the lesions a user may report on (the REPORT action,
clinics from ``selectors.report_sites``) in a fixed number of queries, groups them and caches
the figures. ``forms`` validates the page's filters. Nothing here writes.
"""
