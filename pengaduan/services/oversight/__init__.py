"""Looking across complaints and units: what is late and how each unit keeps its time
limits (timeliness), supervision records and standing documents (supervision, documents),
and the periodic report (reports)."""
