"""`apishield serve`: live analysis behind the REST API, dashboard, metrics and alerts."""
