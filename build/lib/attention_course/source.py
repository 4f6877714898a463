"""Show the source of package code inside a notebook, so what the book reuses stays visible."""

import inspect

from IPython.display import Code


def show_source(obj) -> Code:
    """Syntax-highlighted source of a class or function, with the file it comes from."""
    module = inspect.getmodule(obj)
    header = f"# from {module.__name__}\n" if module else ""
    return Code(header + inspect.getsource(obj), language="python")
