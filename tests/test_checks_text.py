"""Text AWS restricts (tags, security group descriptions) is refused with a located error."""

from __future__ import annotations

from batchform.build import analyze_text

BASE = """\
version: 1
name: demo
region: us-west-2
tags:
  team: {tag}
network:
  vpc:
    create: {{cidr: 10.0.0.0/16, availability_zones: [us-west-2a]}}
  security_groups:
    batch:
      description: {description}
"""


def _codes(text: str) -> list[tuple[str, int | None]]:
    return [(d.code, d.line) for d in analyze_text(text, "t.yaml").diagnostics]


def test_plain_tags_and_descriptions_pass() -> None:
    assert not [
        c
        for c in _codes(BASE.format(tag="genomics", description="Batch hosts"))
        if c[0] in {"BF230", "BF231"}
    ]


def test_tag_with_template_syntax_is_located() -> None:
    codes = _codes(BASE.format(tag='"a ${x}"', description="ok"))
    assert ("BF230", 5) in codes


def test_tag_with_non_latin_letters_is_allowed() -> None:
    codes = _codes(BASE.format(tag="génome漢字", description="ok"))
    assert "BF230" not in [c for c, _ in codes]


def test_description_with_quote_or_non_ascii_is_located() -> None:
    assert ("BF231", 11) in _codes(BASE.format(tag="x", description='"say \\"hi\\""'))
    assert ("BF231", 11) in _codes(BASE.format(tag="x", description="café"))


def test_reserved_tag_prefixes() -> None:
    text = BASE.format(tag="x", description="ok").replace("  team: x", '  "aws:team": x')
    assert ("BF230", 5) in _codes(text)
