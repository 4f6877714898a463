"""Tools for maintainers: running every notebook for `make test`, timing them, and the one
place that says where the build puts things. Not part of the installed package."""
