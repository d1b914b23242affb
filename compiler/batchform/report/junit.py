"""The one JUnit XML writer: test suites and cases in, one XML document out.

Every command that speaks JUnit (``validate``, ``verify``, ``sandbox``) describes its result as
:class:`Suite` and :class:`Case` values; this module alone builds the elements, so the counts
in a suite's attributes always match its cases and every text passes through
:func:`batchform.report.escape.xml` once. The shape is the one CI servers read (Jenkins,
GitLab, GitHub test-report actions): ``failure`` for what the check found, ``error`` for what
could not be checked, ``skipped`` for what was deliberately not run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from xml.etree import ElementTree

from batchform.report.escape import XML_HEADER, xml


class Outcome(StrEnum):
    PASSED = "passed"
    FAILURE = "failure"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Case:
    """One ``testcase``: ``message`` is the outcome element's attribute, ``text`` its body;
    ``system_out`` is shown for a passed case."""

    classname: str
    name: str
    outcome: Outcome = Outcome.PASSED
    message: str = ""
    text: str = ""
    time: float | None = None
    system_out: str = ""


@dataclass(frozen=True)
class Suite:
    name: str
    cases: Sequence[Case] = ()
    time: float | None = None
    system_out: str = ""


@dataclass(frozen=True)
class Document:
    """A JUnit file: ``name`` set gives a ``testsuites`` root around the suites; ``None`` (one
    suite only) makes that suite the root, as ``verify`` has always written it."""

    suites: Sequence[Suite]
    name: str | None = None


def _element(parent: ElementTree.Element | None, tag: str, **attrs: str) -> ElementTree.Element:
    clean = {key: xml(value) for key, value in attrs.items()}
    if parent is None:
        return ElementTree.Element(tag, clean)
    return ElementTree.SubElement(parent, tag, clean)


def _count(suite: Suite, outcome: Outcome) -> str:
    return str(sum(1 for c in suite.cases if c.outcome == outcome))


def _suite(parent: ElementTree.Element | None, suite: Suite) -> ElementTree.Element:
    attrs = {
        "name": suite.name,
        "tests": str(len(suite.cases)),
        "failures": _count(suite, Outcome.FAILURE),
        "errors": _count(suite, Outcome.ERROR),
        "skipped": _count(suite, Outcome.SKIPPED),
    }
    if suite.time is not None:
        attrs["time"] = f"{suite.time:.3f}"
    element = _element(parent, "testsuite", **attrs)
    for case in suite.cases:
        _case(element, case)
    if suite.system_out:
        _element(element, "system-out").text = xml(suite.system_out)
    return element


def _case(suite: ElementTree.Element, case: Case) -> None:
    attrs = {"classname": case.classname, "name": case.name}
    if case.time is not None:
        attrs["time"] = f"{case.time:.3f}"
    element = _element(suite, "testcase", **attrs)
    if case.outcome != Outcome.PASSED:
        outcome = _element(element, str(case.outcome), message=case.message)
        if case.text:
            outcome.text = xml(case.text)
    elif case.system_out:
        _element(element, "system-out").text = xml(case.system_out)


def render(document: Document) -> str:
    """The XML text, with the declaration, indented, ending in a newline."""
    if document.name is None:
        (only,) = document.suites
        root = _suite(None, only)
    else:
        root = _element(None, "testsuites", name=document.name)
        for suite in document.suites:
            _suite(root, suite)
    ElementTree.indent(root)
    return XML_HEADER + ElementTree.tostring(root, encoding="unicode") + "\n"
