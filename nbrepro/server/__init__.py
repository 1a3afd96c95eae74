"""Glue inside the Jupyter server: the REST API the sidebar calls."""
