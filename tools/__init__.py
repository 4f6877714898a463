"""Tools for maintainers, run from a clone (``python -m tools.X``): the lab generator, running
and timing every notebook, and the one place that says where the build puts things. Not part
of the installed package."""
