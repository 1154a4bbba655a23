"""The HTML report: self-contained (nothing loaded from the network), and, in a real
browser (headless Chromium from Debian's packages, installed by .ci/run), a lane per
thread, a row per step, the breaking step marked and the end state shown."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import REPO, SPECS, cli
from lockcheck.api import Options, verify
from lockcheck.errors import Sources
from lockcheck.report.html import render_html
from lockcheck.report.json_report import Run

UNLOCK_EARLY = REPO / "specs" / "ext4_unlock_early.lk"


class _Resources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.external: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "data") and value and not value.startswith("#"):
                self.external.append(f"{tag} {name}={value}")
        if tag == "link":
            self.external.append("link")


def test_html_of_every_spec_is_self_contained(monkeypatch):
    monkeypatch.chdir(REPO)
    run = Run([verify(str(p.relative_to(REPO)), Options(), Sources()) for p in SPECS])
    page = render_html(run)
    parser = _Resources()
    parser.feed(page)
    assert parser.external == []
    assert "url(" not in page and "@import" not in page and "http://" not in page.split("<main>")[0]
    assert page.count('<section class="spec"') == len(SPECS)
    assert page.count('<article class="violation') == sum(
        1 for r in run.results for p in r.properties if p.verdict == "violated")


def test_html_says_what_a_symbolic_verdict_means_and_shows_why_induction_failed(tmp_path):
    page_path = tmp_path / "induction.html"
    cli("verify", "--engine", "induction", "--depth", "1", "--html", str(page_path), str(REPO / "specs" / "ext4.lk"))
    page = page_path.read_text()
    assert "<td>holds (proved (k=1))</td>" in page and "induction: k up to 1" in page
    ctis = re.findall(r'<details class="cti" data-property="([^"]+)">', page)
    assert "deadlock" in ctis and "no_remove_under_writeback" not in ctis
    assert "counterexample to induction: 1 step(s)" in page


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _browser(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1600"]
    return subprocess.run([_chromium(), *flags, *args], capture_output=True, text=True, timeout=90,
                          env={**os.environ, "HOME": str(profile)})


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (.ci/run installs it: apt-get install chromium)")
def test_html_in_chromium(tmp_path):
    page = tmp_path / "report.html"
    code, _, _ = cli("verify", "--html", str(page), str(UNLOCK_EARLY), str(REPO / "specs" / "truncate_lock_inverted.lk"))
    assert code == 0 and page.exists()
    url = page.as_uri()
    dom = _browser(["--dump-dom", url], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert html.count('<section class="spec"') == 2
    race = html.split('data-property="no_remove_under_writeback" data-expected="violation"')[1].split("</article>")[0]
    lanes = re.findall(r'<th class="lane-head" data-lane="([^"]+)"', race)
    assert lanes == ["truncate", "flusher"]   # the bio_end threads take no step: no lane, named above the table
    assert 'data-idle="bio_end[0]"' in race and 'data-idle="bio_end[1]"' in race
    steps = re.findall(r'<tr class="step[^"]*" data-row="\d+" data-step="(\d+)" data-thread="([^"]+)"', race)
    assert [int(n) for n, _ in steps] == list(range(1, 10))
    assert [t for _, t in steps] == ["flusher"] * 5 + ["truncate"] * 3 + ["flusher"]
    breaking = re.findall(r'<tr class="step[^"]*\bbreaking\b[^"]*" data-row="\d+"(?: data-step="(\d+)")?', race)
    assert breaking[0] == "9"
    assert "breaks no_remove_under_writeback" in race
    assert "pages[0].in_cache: " in race and '<span class="new">false</span>' in race
    ends = re.findall(r'<td class="lane end" data-lane="([^"]+)" data-status="([^"]+)"', race)
    assert ("truncate", "ready") in ends and ("flusher", "ready") in ends and len(ends) == 2
    assert "holds <b>pages[0].locked</b>" in race
    # the lock-order violation shows the cycle
    assert "flusher takes invalidate_lock while holding pages[0].locked" in html
    # thread-local steps are hidden until asked for; the script that shows them ran in the page
    assert 'class="toggle-local"' in race
    shot = tmp_path / "report.png"
    taken = _browser([f"--screenshot={shot}", url], tmp_path / "profile-shot")
    assert taken.returncode == 0, taken.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    keep = os.environ.get("LOCKCHECK_SCREENSHOT")
    if keep:   # to look at it: LOCKCHECK_SCREENSHOT=/tmp/report.png pytest tests/test_report_html.py
        shutil.copy(shot, keep)
