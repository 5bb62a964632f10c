"""The public figures of /statistik: computed by the periodic report's own code
(figures.py), published under the rules of domain.md section 12 (publishing.py), and kept
as snapshots the worker refreshes (snapshots.py)."""
