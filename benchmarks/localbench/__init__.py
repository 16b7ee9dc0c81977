"""Workers and shared data for ``benchmarks/local.py``; each worker runs in its own interpreter."""
