"""What a fresh machine installs: the README's install step, resolved by the pip that Python ships."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support.procs import reachable
from support.samples import ROOT


@pytest.mark.slow
def test_the_pip_python_ships_installs_what_full_text_extraction_imports(tmp_path):
    # justext asks for lxml[html_clean]; pip 23 (Python 3.11's) skips that extra, so the
    # project must name lxml_html_clean itself or trafilatura.extract raises ImportError.
    if not reachable("pypi.org", 443):
        pytest.skip("PyPI is not reachable from here: the resolution cannot be checked")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    report = tmp_path / "report.json"
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--quiet",
                           "--ignore-installed", "--report", str(report), str(ROOT)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    names = {item["metadata"]["name"].lower().replace("_", "-") for item in json.loads(report.read_text())["install"]}
    assert {"trafilatura", "justext", "lxml-html-clean"} <= names


def test_full_text_extraction_works_in_this_environment():
    from monitor.adapters.fulltext import extract_main_text

    page = ("<html><body><article><h1>L'OTAN</h1>"
            + "<p>Les alliés de l'OTAN se sont réunis jeudi à Bruxelles pour parler de l'Ukraine.</p>" * 8
            + "</article></body></html>")
    assert "Bruxelles" in (extract_main_text(page.encode(), url="https://example.org/a") or "")
