"""The report layer: every result batchform produces, in every format it speaks.

One module per kind of result, each turning the stage's own records into text, and three
shared building blocks; nothing here decides anything, reads AWS or writes files (the commands
do, with what these return):

- ``diagnostics``: ``validate``/``compile`` diagnostics: text, JSON, JUnit, Markdown, SARIF;
- ``verify``: the drift report: text, JSON, JUnit, Markdown, SARIF;
- ``diff``: what a change does to AWS: text, Markdown, JSON;
- ``sandbox``: the steps of a sandbox run: text, JUnit;
- ``escape``: the one escaping function per target format (terminal text, Markdown, XML) and
  the one XML header;
- ``junit``, ``sarif``, ``markdown``: the one JUnit writer, the one SARIF 2.1.0 writer, the
  Markdown table and code-span helpers.

Every JSON document carries a ``"version"`` and has a schema in ``docs/schemas/``;
``docs/output-formats.md`` describes each format and what stays stable. This package is
imported lazily by each command (``plan`` imports only ``escape``, a leaf).
"""
