"""What `check` found: one line per check, the first wrong node, and the report as text and in Jupyter."""
import html
from dataclasses import dataclass, field
from typing import Optional

LATER_NAMED = 3  # later wrong nodes and parameters named in the report (the rest are counted)


@dataclass
class Check:
    """One check: its title, whether it passed, and lines that say what differed."""

    title: str
    passed: bool
    details: list = field(default_factory=list)


@dataclass(repr=False)  # the default repr would print every array of every Difference
class FirstWrong:
    """The first node, in the order backward visits them, whose sent gradient differs from the reference run's.

    Attributes:
        op, role, module: the node's op ('softmax'), the part it plays ('attention weights') and
            module path ('encoder.layers.0.self_attn'); role and module may be None.
        step: its position in the backward walk (0: the loss).
        sent: [(name of the gradient, compare.Difference)] for each input it sent a wrong gradient to.
        later: labels of the nodes after it whose sent gradients differ, in backward order.
        later_steps: how many op steps came after it in all.
        parameters: names of the parameters whose gradients differ.
    """

    op: str
    role: Optional[str]
    module: Optional[str]
    step: int
    sent: list
    later: list
    later_steps: int
    parameters: list

    @property
    def label(self):
        """'softmax (attention weights) in encoder.layers.0.self_attn'."""
        return node_label(self.op, self.role, self.module)

    def __repr__(self):
        sent = ", ".join(f"{name}: {d.short()}" for name, d in self.sent)
        return (f"<FirstWrong {self.op}, role {self.role!r}, module {self.module!r}, step {self.step}"
                + (f"; {sent}" if sent else "") + ">")

    def lines(self):
        lines = [f"first wrong: {self.label}"]
        for name, difference in self.sent:
            lines += difference_lines(f"sent {name}: ", name, difference)
        later = _named(self.later, f"of the {self.later_steps} backward steps after it")
        parameters = _named(self.parameters, "parameter gradients")
        if later or parameters:
            lines.append(f"    then wrong because of it: {later or parameters}")
        if later and parameters:
            lines.append(f"      and {parameters}")
        if not (later or parameters):
            lines.append("    nothing after it went wrong")
        return lines


def difference_lines(head, name, difference):
    """Three lines under a 'first wrong:' line: `head` and the Difference's account, then the row of values
    at its largest error, as it should be and as it was."""
    where, should, was = difference.rows()
    return [f"    {head}{difference.text()}", f"      {name}{where} should be: {should}",
            f"      {name}{where}       was: {was}"]


def node_label(op, role, module):
    """How the report names a node: 'op (role) in module'."""
    return op + (f" ({role})" if role else "") + (f" in {module}" if module else "")


@dataclass
class Report:
    """The result of checking one learner file.

    Attributes:
        exercise: the exercise's name.
        path: the learner's file.
        checks: every Check run, in order.
        first_wrong: a FirstWrong where a backward ran wrong inside the model, else None.
        problem: why the checks could not run to the end (a stub, a syntax error, the
            learner's exception with the learner's frames), else None.
        page: the explorer page written (--explore), else None.
        note: why no page was written, else None.
    """

    exercise: str
    path: str
    checks: list = field(default_factory=list)
    first_wrong: Optional[FirstWrong] = None
    problem: Optional[str] = None
    page: Optional[str] = None
    note: Optional[str] = None

    @property
    def passed(self):
        """True when every check ran and passed."""
        return self.problem is None and bool(self.checks) and all(c.passed for c in self.checks)

    def lines(self):
        """The report as (kind, text) lines; kind is 'head', 'pass', 'fail', 'detail', 'wrong' or 'end'."""
        lines = [("head", f"{self.exercise}: {self.path}")]
        for check in self.checks:
            lines.append(("pass" if check.passed else "fail", f"  {'PASS' if check.passed else 'FAIL'}  {check.title}"))
            lines += [("detail", f"        {line}") for line in check.details]
        if self.first_wrong is not None:
            lines += [("wrong", line) for line in self.first_wrong.lines()]
        if self.problem is not None:
            lines += [("wrong", line) for line in self.problem.splitlines()]
        if self.page is not None:
            opened = "opened at the first wrong node" if self.first_wrong is not None else "your run of the model"
            lines.append(("detail", f"wrote {self.page}: the explorer, {opened}"))
        if self.note is not None:
            lines += [("detail", line) for line in self.note.splitlines()]
        passed = sum(c.passed for c in self.checks)
        verdict = ("every check passed" if self.passed else "not checked" if not self.checks
                   else f"{passed} of {len(self.checks)} checks passed")
        lines.append(("end", f"{self.exercise}: {verdict}"))
        return lines

    def text(self):
        """The report as plain text, as `tinygrad-tf exercise check` prints it."""
        return "\n".join(text for _, text in self.lines())

    __str__ = text

    def __repr__(self):
        return f"<Report {self.exercise}: {'passed' if self.passed else 'failed'}>"

    def _repr_html_(self):
        """Jupyter shows the report as coloured text."""
        colours = {"pass": "#1a7f37", "fail": "#cf222e", "wrong": "#cf222e", "head": "inherit", "end": "inherit",
                   "detail": "#57606a"}
        body = "\n".join(f'<span style="color:{colours[kind]}">{html.escape(text)}</span>' for kind, text in self.lines())
        return f'<pre style="line-height:1.35; white-space:pre-wrap">{body}</pre>'


def _named(labels, what):
    """'12 parameter gradients (a, b, c, ...)', or '' for none."""
    if not labels:
        return ""
    unique = list(dict.fromkeys(labels))
    shown = ", ".join(unique[:LATER_NAMED]) + (", ..." if len(unique) > LATER_NAMED else "")
    return f"{len(labels)} {what} ({shown})"
