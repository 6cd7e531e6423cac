"""The ``star-app`` headless commands; :func:`star_model.cli.main.main` runs one."""
