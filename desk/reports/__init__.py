"""The reports the desk writes from what it knows: the monthly inspection report (巡检报告)
for a customer, and the quarterly service statistics for the company.

- :mod:`desk.reports.model`: the reports as data (also their JSON format);
- :mod:`desk.reports.inspection` and :mod:`desk.reports.quarterly`: build them from the
  store (tickets, events, rollups) and the inventory;
- :mod:`desk.reports.render`: HTML, PDF, XLSX and JSON from the same data.
"""
