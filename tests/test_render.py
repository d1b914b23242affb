"""The HCL writing layer: escaping of user text and the terraform-fmt-compatible layout."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchform import hclfmt
from batchform.hcl import Expr, hcl, hcl_key, hcl_string
from batchform.hclfmt import format_hcl

NASTY = 'a ${x} %{ if y } "quoted" back\\slash\nnew line\ttab é 漢字 $${literal} 100%'


def _hcl_value(text: str) -> object:
    """What Terraform's HCL parser reads back from ``x = <text>``."""
    return hcl2.loads(f"x = {text}\n")["x"]


def test_user_text_cannot_become_an_expression() -> None:
    literal = hcl_string(NASTY)
    assert "${x}" not in literal.replace("$${", "")
    assert "%{ if" not in literal.replace("%%{", "")
    assert "\n" not in literal


@given(st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_any_string_is_a_single_line_quoted_literal(text: str) -> None:
    literal = hcl_string(text)
    assert literal.startswith('"') and literal.endswith('"')
    assert "\n" not in literal and "\r" not in literal
    # every quote inside is escaped, so the literal ends where it should
    body = literal[1:-1]
    assert '"' not in body.replace('\\"', "").replace("\\\\", "")


def test_keys_that_are_not_identifiers_or_are_keywords_are_quoted() -> None:
    assert hcl_key("image") == "image"
    assert hcl_key("batchform:key") == '"batchform:key"'
    assert hcl_key("for") == '"for"'
    assert hcl_key("a b") == '"a b"'


def test_values_render_as_hcl_that_parses_back() -> None:
    value = {"name": 'x"y', "count": 3, "ratio": 0.5, "on": True, "none": None, "items": ["a"]}
    # python-hcl2 keeps string literals as written (quotes and escapes included)
    assert _hcl_value(hcl(value)) == {
        "name": '"x\\"y"',
        "count": 3,
        "ratio": 0.5,
        "on": True,
        "none": None,
        "items": ['"a"'],
    }
    assert hcl(Expr("aws_vpc.main.id")) == "aws_vpc.main.id"
    assert hcl(2.0) == "2" and hcl(0.25) == "0.25"
    with pytest.raises(ValueError):
        hcl(float("nan"))


def test_format_is_idempotent_and_aligns_like_terraform() -> None:
    text = 'resource "a" "b" {\nname = "x"\ninstance_type = "y"\ntags = {\nk = "v"\n}\n}\n'
    once = format_hcl(text)
    assert format_hcl(once) == once
    assert '  name          = "x"\n  instance_type = "y"\n  tags = {\n    k = "v"\n  }' in once


def test_large_texts_are_laid_out_in_pieces_exactly_as_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """format_hcl reads its input a piece at a time and joins its output a run of lines at a
    time (to bound memory on large files); with tiny pieces and runs, so that boundaries fall
    inside aligned chains, blank lines and nested blocks, the text is the same as in one go."""
    generated = Path(__file__).parent.parent / "generated"
    texts = [p.read_text(encoding="utf-8") for p in sorted(generated.glob("*/*.tf"))]
    whole = "\n\n\n".join(texts) + "locals {\na = 1\r\nbb = 2\n\n\n}\n"
    expected = format_hcl(whole)
    monkeypatch.setattr(hclfmt, "_PIECE_CHARS", 7)
    monkeypatch.setattr(hclfmt, "_PART_LINES", 3)
    assert format_hcl(whole) == expected
    assert expected.count("\n") > 1000  # the sample crosses many boundaries


FMT_CASES = {
    "aligned": 'resource "a" "b" {\na = 1\nlonger_name = "x"\n\nc = [1, 2]\n}\n',
    "nested": (
        'resource "a" "b" {\nblock {\nx = 1\nyy = 2\n}\nz = jsonencode({\nk = "v"\n'
        'long_key = [\n"a",\n"b",\n]\n})\n}\n'
    ),
    "strings": 'locals {\na = "x = y"\nbb = "${var.a} {"\nccc = "$${not} %%{this}"\n}\n',
    "comparisons": "locals {\na = 1 == 2\nbbb = 3 >= 4\n}\n",
    "multiline_breaks_chain": "locals {\na = 1\nlong = {\nb = 2\n}\nc = 3\n}\n",
}


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")
def test_layout_matches_terraform_fmt(tmp_path: Path) -> None:
    for name, text in FMT_CASES.items():
        (tmp_path / f"{name}.tf").write_text(format_hcl(text))
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-diff", "-no-color", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
