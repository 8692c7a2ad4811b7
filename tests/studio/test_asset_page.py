"""The asset page: entries as a tree, inert previews by type, files served sandboxed, and all
of them as one zip."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from django.test import Client

from assets.blobs import store_blob
from assets.models import Asset
from runs.submission import submit_run
from runs.values import from_plain_json

pytestmark = pytest.mark.django_db

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f6f0000000049454e44ae426082"
)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
FILES = {
    "report/summary.md": (b"# Summary\n\n**bold** <script>alert(1)</script>", {}),
    "report/data.csv": (b"name,score\nada,3\n<b>bob</b>,4\n", {}),
    "report/plot.png": (PNG, {"type": "image/png"}),
    "data.json": (b'{"b": [1, 2], "a": "<i>x</i>"}', {}),
    "page.html": (b"<script>alert(1)</script>", {"type": "text/html"}),
    "vector.svg": (SVG, {}),
    "model.bin": (b"\x00\x01\x02", {}),
}


@pytest.fixture
def asset(settings, tmp_path, registered) -> Asset:
    settings.DATA_DIR = tmp_path
    execution = submit_run(registered, "app.flows", "greet", [from_plain_json("x")])
    entries = {}
    for path, (content, metadata) in FILES.items():
        key = hashlib.sha256(content).hexdigest()
        store_blob(key, io.BytesIO(content).read, len(content))
        entries[path] = {"blob_key": key, "size": len(content), "metadata": metadata}
    return Asset.objects.record(
        registered.project, name="<b>report</b>", execution=execution, entries=entries
    )


def test_the_page_shows_the_entries_as_a_tree(studio: Client, asset: Asset) -> None:
    response = studio.get(f"/assets/{asset.id}")
    assert response.status_code == 200
    tree = response.context["tree"]
    assert [(n.name, n.is_dir) for n in tree] == [
        ("report", True),
        ("data.json", False),
        ("model.bin", False),
        ("page.html", False),
        ("vector.svg", False),
    ]
    assert [n.name for n in tree[0].children] == ["data.csv", "plot.png", "summary.md"]
    html = response.content.decode()
    assert "&lt;b&gt;report&lt;/b&gt;" in html and "<b>report</b>" not in html
    assert f'href="/assets/{asset.id}/download"' in html
    assert response.context["workspace"].name == "default"  # the chrome of its workspace


@pytest.mark.parametrize(
    ("path", "expected", "absent"),
    [
        ("report/summary.md", "<strong>bold</strong>", "<script>alert(1)"),
        ("report/data.csv", "<th>name</th><th>score</th>", "<b>bob</b>"),
        ("data.json", "&quot;a&quot;: &quot;&lt;i&gt;x&lt;/i&gt;&quot;", "<i>x</i>"),
        ("page.html", "&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)"),
        ("vector.svg", "<img src=", "<svg"),
        ("model.bin", "No preview", "<pre>"),
    ],
)
def test_previews_are_inert(studio: Client, asset: Asset, path, expected, absent) -> None:
    response = studio.get(f"/assets/{asset.id}", {"path": path}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.strip().startswith('<section id="asset-preview"')
    assert expected in html
    assert absent not in html


def test_files_are_served_sandboxed_and_never_as_html(studio: Client, asset: Asset) -> None:
    page = studio.get(f"/assets/{asset.id}/files/page.html")
    assert page["Content-Type"] == "text/plain; charset=utf-8"
    assert page["Content-Security-Policy"].startswith("sandbox")
    assert b"".join(page.streaming_content) == b"<script>alert(1)</script>"
    svg = studio.get(f"/assets/{asset.id}/files/vector.svg")
    assert svg["Content-Type"] == "image/svg+xml"
    assert svg["Content-Security-Policy"].startswith("sandbox")
    binary = studio.get(f"/assets/{asset.id}/files/model.bin")
    assert binary["Content-Type"] == "application/octet-stream"
    assert binary["Content-Disposition"].startswith("attachment")
    download = studio.get(f"/assets/{asset.id}/files/report/plot.png", {"download": ""})
    assert download["Content-Disposition"] == 'attachment; filename="plot.png"'
    assert studio.get(f"/assets/{asset.id}/files/nothing.txt").status_code == 404
    assert studio.get(f"/assets/{asset.id}", {"path": "nothing"}).status_code == 404


def test_all_files_download_as_one_zip(studio: Client, asset: Asset) -> None:
    response = studio.get(f"/assets/{asset.id}/download")
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="<b>report<_b>.zip"'
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as zipped:
        assert sorted(zipped.namelist()) == sorted(FILES)
        assert zipped.read("report/data.csv") == FILES["report/data.csv"][0]


def test_an_unknown_asset_is_not_found_and_login_is_required(
    client: Client, studio: Client, asset: Asset
) -> None:
    assert studio.get("/assets/Anothing").status_code == 404
    client.logout()
    assert client.get(f"/assets/{asset.id}").status_code == 302
