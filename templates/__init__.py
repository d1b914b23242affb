"""The Jinja templates of the generated files, shipped as the package data ``batchform.templates``.

A regular package (this file) so that the editable install of a checkout maps it to this folder
and a wheel ships it as ``batchform/templates/``; ``batchform.render`` reads templates from
nowhere else.
"""
