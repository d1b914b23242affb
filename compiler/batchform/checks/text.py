"""Rules for free text that AWS restricts: tags and security group descriptions.

Anything else a user writes is escaped on its way into HCL and reaches AWS unchanged; these
fields would be rejected by AWS at apply time (or worse, half-way through), so they are checked
here, located, before anything is generated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from batchform.checks import Finding, rule
from batchform.derive import resource_tag_maps
from batchform.diagnostics import Level, Path
from batchform.model import Environment

# AWS tagging rules: letters, numbers and spaces in any script, and _ . : / = + - @
_TAG_TEXT = re.compile(r"^[\w .:/=+\-@\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]*\Z")
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
# EC2 security group and rule descriptions: a fixed ASCII set, at most 255 characters.
_SG_DESCRIPTION = re.compile(r"^[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]*\Z")
SG_DESCRIPTION_MAX = 255


def _tag_problem(text: str, limit: int, what: str) -> str | None:
    if len(text) > limit:
        return f"{what} is {len(text)} characters long; AWS allows at most {limit}"
    if not _TAG_TEXT.match(text):
        bad = sorted({c for c in text if not _TAG_TEXT.match(c)})
        shown = ", ".join(repr(c) for c in bad)
        return f"{what} contains characters AWS does not allow in tags: {shown}"
    return None


def _tag_maps(env: Environment) -> Iterator[tuple[Path, Mapping[str, str]]]:
    yield ("tags",), env.tags
    for key, ce in env.compute_environments.items():
        yield ("compute_environments", key, "instance_tags"), ce.instance_tags
    for path, tags in resource_tag_maps(env):
        yield (*path, "tags"), tags
    if env.job_defaults.tags:
        yield ("job_defaults", "tags"), env.job_defaults.tags
    for key, job in env.job_definitions.items():
        if job.tags:
            yield ("job_definitions", key, "tags"), job.tags


@rule("BF230", Level.ERROR, "a tag key or value has characters or a length AWS rejects")
def tag_text(env: Environment) -> Iterator[Finding]:
    hint = (
        "tags allow letters, digits, spaces and _ . : / = + - @; "
        f"keys up to {TAG_KEY_MAX}, values up to {TAG_VALUE_MAX} characters"
    )
    for path, tags in _tag_maps(env):
        for k, v in tags.items():
            problem = _tag_problem(k, TAG_KEY_MAX, f"tag key '{k}'")
            if not k:
                problem = "a tag key is empty; AWS requires 1 to 128 characters"
            if problem is None and k.lower().startswith("aws:"):
                problem = f"tag key '{k}' uses the prefix 'aws:', which AWS reserves"
            if problem is None and k.startswith("batchform:"):
                problem = f"tag key '{k}' uses the prefix 'batchform:', which batchform reserves"
            if problem is None:
                problem = _tag_problem(v, TAG_VALUE_MAX, f"the value of tag '{k}'")
            if problem is not None:
                yield Finding((*path, k), problem, hint)


@rule("BF231", Level.ERROR, "a security group or rule description has characters AWS rejects")
def security_group_description_text(env: Environment) -> Iterator[Finding]:
    hint = (
        "EC2 descriptions allow ASCII letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*, "
        f"up to {SG_DESCRIPTION_MAX} characters"
    )
    for key, sg in env.network.security_groups.items():
        texts: list[tuple[Path, str | None]] = [
            (("network", "security_groups", key, "description"), sg.description)
        ]
        for direction in ("ingress", "egress"):
            rules = getattr(sg, direction)
            if isinstance(rules, list):
                for i, r in enumerate(rules):
                    path: Path = ("network", "security_groups", key, direction, i, "description")
                    texts.append((path, r.description))
        for path, text in texts:
            if text is None:
                continue
            if len(text) > SG_DESCRIPTION_MAX:
                yield Finding(path, f"description is {len(text)} characters long", hint)
            elif not _SG_DESCRIPTION.match(text):
                chars = sorted({c for c in text if not _SG_DESCRIPTION.match(c)})
                bad = ", ".join(repr(c) for c in chars)
                yield Finding(path, f"description contains characters EC2 rejects: {bad}", hint)
