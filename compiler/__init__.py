"""batchform: compile an AWS Batch environment file into a Terraform root module.

The package is a small compiler pipeline; each stage lives in the module named after it:
``loader`` (file -> raw data + positions), ``model`` (raw data -> frozen pydantic models),
``checks`` (model -> diagnostics), ``plan`` (model -> render context), ``render`` (context ->
file texts), ``emit`` (texts -> ``generated/<name>/``), ``verify`` (model + AWS -> drift report),
``diagnostics`` (findings -> text/JSON and exit codes) and ``cli`` (argument parsing only).
"""

__version__ = "0.1.0"
