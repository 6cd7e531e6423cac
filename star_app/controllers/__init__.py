"""Glue between the main window's views, the project state and the services (no widgets here)."""
