"""What the ``monitor`` commands print goes through here.

Feed and article titles, links, feed names, error messages and rule files come from
outside, and a terminal acts on what it is sent: ``ESC ]0;...BEL`` in a feed title
would retitle it, ``ESC [31m`` (or the one-byte C1 form ``\\x9b``) would colour it,
and a right-to-left override makes ``exe.\\u202efdp`` read as "pdf.exe". So every
message loses its control and bidirectional characters (line breaks and tabs stay:
the commands print several lines at once), and a JSON document keeps its data with
those characters written as ``\\uXXXX`` escapes. See :func:`monitor.core.render.printable`.
"""

from __future__ import annotations

import json
from typing import Any

import click

from monitor.core.render import json_printable, printable

__all__ = ["echo", "echo_json", "printable"]


def echo(message: Any = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` of a message that may hold untrusted text, made safe for a terminal."""
    click.echo(printable(str(message), lines=True), err=err, nl=nl)


def echo_json(document: Any, **dumps: Any) -> None:
    """Print ``json.dumps(document, **dumps)`` with control and bidi characters escaped."""
    click.echo(json_printable(json.dumps(document, **dumps)))
