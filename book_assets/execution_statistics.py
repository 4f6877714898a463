"""The book's "Execution statistics" page: what each notebook costs and what it asserts.

The directive ``{execution-statistics}`` becomes one table with a row per executed notebook:
its run time in this build (myst-nb's execution record: the time of the run whose outputs
the page shows, also when they came from the execution cache) and the metrics it reports
with :func:`attention_course.reporting.report_metrics`, which in the book build hands them
to myst-nb as hidden glue data (keys ``metric:<name>``, in ``<docname>.glue.json`` of
myst-nb's output folder). Like myst-nb's own ``nb-exec-table``, the table is made after all
notebooks have run, so it lists the values of this build.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

from docutils import nodes
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOGGER = logging.getLogger(__name__)
HAS_TABLE = "has_execution_statistics"
METRIC_KEY_PREFIX = "metric:"  # as in attention_course/reporting.py
HEADERS = ("Notebook", "Run time (s)", "Metrics it reports")


class StatisticsNode(nodes.General, nodes.Element):
    """Where the table goes, once every notebook has run."""


class ExecutionStatistics(SphinxDirective):
    has_content = False

    def run(self):
        NbMetadataCollector.set_doc_data(self.env, self.env.docname, HAS_TABLE, True)
        return [StatisticsNode()]


def _pages_with_a_table(app: Sphinx, env) -> list[str]:
    # Rewritten whenever a notebook ran again, so the numbers are this build's.
    return [
        docname
        for docname, data in NbMetadataCollector.get_doc_data(env).items()
        if data.get(HAS_TABLE)
    ]


def _metrics(output_folder: str, docname: str) -> list[tuple[str, str]]:
    path = Path(output_folder, *docname.split("/")[:-1], docname.split("/")[-1] + ".glue.json")
    if not path.is_file():
        return []
    glue = json.loads(path.read_text(encoding="utf-8"))
    return [
        (key[len(METRIC_KEY_PREFIX) :], output["data"]["text/plain"])
        for key, output in glue.items()
        if key.startswith(METRIC_KEY_PREFIX)
    ]


def _row(cells: list[nodes.Node]) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        row += nodes.entry("", cell)
    return row


class StatisticsTable(SphinxPostTransform):
    default_priority = 8  # before references are resolved, like myst-nb's own table

    def run(self, **kwargs) -> None:
        for node in list(self.document.findall(StatisticsNode)):
            node.replace_self(self.table())

    def table(self) -> nodes.table:
        table = nodes.table(classes=["colwidths-auto"])
        group = nodes.tgroup(cols=len(HEADERS))
        table += group
        for _ in HEADERS:
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        head += _row([nodes.paragraph(text=header) for header in HEADERS])
        group += head
        body = nodes.tbody()
        group += body
        data = NbMetadataCollector.get_doc_data(self.env)
        output_folder = self.env.mystnb_config.output_folder
        for docname in sorted(data):
            executed = data[docname].get("exec_data")
            if not executed:
                continue
            link = pending_xref(
                refdoc=self.env.docname,
                reftarget=posixpath.relpath(docname, posixpath.dirname(self.env.docname)),
                reftype="doc",
                refdomain="std",
                refexplicit=True,
                refwarn=True,
            )
            title = self.env.titles.get(docname)
            link += nodes.inline(text=title.astext() if title else docname)
            name = nodes.paragraph()
            name += link
            runtime = executed.get("runtime")
            seconds = nodes.paragraph(text="-" if runtime is None else f"{runtime:.0f}")
            metrics = _metrics(output_folder, docname)
            if docname.startswith("chapters/") and not metrics:
                LOGGER.warning(
                    f"{docname} reports no metrics to the book", location=self.env.docname
                )
            listed = nodes.paragraph()
            for index, (metric, value) in enumerate(metrics):
                if index:
                    listed += nodes.Text(", ")
                listed += nodes.literal(text=f"{metric} = {value}")
            body += _row([name, seconds, listed])
        return table


def setup(app: Sphinx) -> dict:
    app.add_node(StatisticsNode)
    app.add_directive("execution-statistics", ExecutionStatistics)
    app.connect("env-updated", _pages_with_a_table)
    app.add_post_transform(StatisticsTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
