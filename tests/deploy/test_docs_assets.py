"""API docs without a CDN: government intranets reach no public host, so /docs and /redoc load their
scripts, styles and icon from the service itself."""

from __future__ import annotations

import re

import pytest

ASSET_REF = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*'([^']+)'""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_reference_no_external_host_and_their_assets_answer(system, page):
    for base in (system.intake_url, system.cases_url, system.notify_url):
        resp = await system.http.get(f"{base}{page}")
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
        html = resp.text
        assert "http://" not in html and "https://" not in html and "//cdn" not in html, html
        refs = [a or b for a, b in ASSET_REF.findall(html)]
        assert refs and all(ref.startswith("/") for ref in refs), refs
        for ref in refs:
            asset = await system.http.get(f"{base}{ref}")
            assert asset.status_code == 200, ref
            assert len(asset.content) > 100, ref


async def test_swagger_oauth2_redirect_page_is_served(system):
    resp = await system.http.get(f"{system.cases_url}/docs/oauth2-redirect")
    assert resp.status_code == 200 and "oauth2" in resp.text.lower()
