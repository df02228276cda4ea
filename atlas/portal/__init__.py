"""`atlas portal`: the web portal where countries upload deliveries (see atlas/portal/app.py)."""
