"""Storing runs in MLflow: the tracking store, a run's session, the spool of captures to upload, reading runs back."""
