"""Docstrings as Markdown: rendered, and nothing in them can run."""

from __future__ import annotations

import pytest

from runs.studio.markdown import render_markdown


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("<script>alert(1)</script>", "<script"),
        ("[x](javascript:alert(1))", 'href="javascript:'),
        ("[x](JaVaScRiPt:alert(1))", "href="),
        ('<a href="#" onclick="alert(1)">x</a>', "<a "),
        ("![x](data:text/html;base64,PHNjcmlwdD4=)", 'src="data:'),
        ("<iframe src=//evil></iframe>", "<iframe"),
        ("<style>body{}</style>", "<style"),
        ('<img src=x onerror="alert(1)">', "<img"),
    ],
)
def test_nothing_executable_survives(text: str, absent: str) -> None:
    """Whatever is not Markdown stays text: escaped, never an element or attribute."""
    assert absent not in render_markdown(text)


def test_markdown_is_rendered() -> None:
    html = render_markdown(
        "# Title\n\n**bold** `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[ok](https://example.com)"
    )
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
    assert "<code>code</code>" in html and "<td>1</td>" in html
    assert 'href="https://example.com"' in html and 'rel="noopener noreferrer nofollow"' in html
