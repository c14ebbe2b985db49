"""What each console page shows, built as plain data before any HTML is written.

One module per page (:mod:`queue`, :mod:`ticket`, :mod:`dashboard`, :mod:`inventory`,
:mod:`portal`) turns the store and the inventory into frozen dataclasses; the templates
only lay them out. Keeping the wording of clocks and timelines here (through gettext)
lets tests check a page's facts without parsing HTML, and keeps the customer filter
(:mod:`portal`) in one place that a test can read.
"""
