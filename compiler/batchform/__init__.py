"""batchform: compile an AWS Batch environment file into a Terraform root module.

The package is a small compiler pipeline; each stage lives in the module named after it:
``loader`` (file -> raw data + positions), ``model`` (raw data -> frozen pydantic models),
``checks`` (model -> diagnostics), ``plan`` (model -> render context), ``render`` (context ->
file texts), ``emit`` (texts -> ``generated/<name>/``), ``verify`` (model + AWS -> drift report),
``diff`` (two models -> changes and risks), ``report`` (every result -> text, JSON, JUnit,
Markdown, SARIF) and ``cli`` (argument parsing only).
"""

__version__ = "0.1.0"
