"""Data sets of the book. Every loader works offline; where a package is missing it says
which one to install."""
