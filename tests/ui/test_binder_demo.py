"""The Binder tour in a real JupyterLab: open ``binder/demo.ipynb``, Run All, read the sidebar.

Nothing is faked: the lab is set up by the steps of ``binder/postBuild`` and ``binder/start``
(see the ``binder_lab`` fixture), the kernel runs every query through the embedded gateway,
and the server extension serves the lineage from the same audit store. The screenshot saved
here, ``test-artifacts/sidebar.png``, is the one the README shows (``docs/img/sidebar.png``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ui_lab import Lab

pytestmark = pytest.mark.slow

NOTEBOOK = "binder/demo.ipynb"
SIDEBAR = "#jupyter-masking-lineage"
CARD = f"{SIDEBAR} .jp-masking-card"
RUN_TIMEOUT_MS = 180_000

#: cell id -> what its card must say (the card's full text, visible or not yet painted).
EXPECTED_CARDS = {
    "first-query": ("alice", "5 rows", "customers.email", "pseudonym", "default:pii.email"),
    "join": ("customers, orders", "aggregated"),
    "tickets": ("support_tickets.body", "redact(spans)"),
    "legacy": ("legacy_export.c1", "pii.email", "legacy_export.c2", "pii.phone"),
    "refused": ("refused", "writes are not allowed (DELETE)"),
    "support": ("sam", "support-sees-contact"),
    "ai": ("sam via jupyter-ai", "ai-never-raw"),
    "contractor": ("refused", "no-ssn-for-contractors"),
}


def _card(page: Any, cell_id: str) -> Any:
    return page.locator(f'{CARD}[data-cell-id="{cell_id}"]')


def _active_cell_text(page: Any) -> str:
    text: str = page.locator(".jp-NotebookPanel:visible .jp-Cell.jp-mod-active").inner_text()
    return text


def test_demo_notebook_runs_in_lab_and_the_sidebar_explains_every_query(
    page: Any, binder_lab: Lab, artifacts: Path
) -> None:
    # Binder's URL, without ?reset: the imported workspace opens the sidebar by itself.
    page.goto(f"{binder_lab.url}lab/tree/{NOTEBOOK}?token={binder_lab.token}")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    page.locator(SIDEBAR).wait_for()
    tab = page.locator(f'.jp-SideBar .lm-TabBar-tab[data-id="{SIDEBAR[1:]}"]')
    assert "lm-mod-current" in (tab.get_attribute("class") or "")
    page.locator(f"{SIDEBAR} .jp-masking-status-empty").wait_for()  # nothing has run yet

    # Run All, the way a visitor would; the two refusals are tagged raises-exception.
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").first.wait_for(timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
    page.locator(".lm-Menu-content").get_by_text("Run All Cells", exact=True).click()
    page.locator(".jp-OutputArea-output", has_text="audit chain ok").wait_for(
        timeout=RUN_TIMEOUT_MS
    )

    # One card per cell that queried, in cell order, with what was masked and why.
    page.wait_for_function(
        f"() => document.querySelectorAll('{CARD}').length === {len(EXPECTED_CARDS)}",
        timeout=30_000,
    )
    order = [_card_id(c) for c in page.locator(CARD).element_handles()]
    assert order == list(EXPECTED_CARDS)
    for cell_id, phrases in EXPECTED_CARDS.items():
        text = _card(page, cell_id).text_content() or ""
        for phrase in phrases:
            assert phrase in text, f"card {cell_id} lacks {phrase!r}: {text[:300]}"
    # alice's cards come from the server's audit log (the server acts for alice, as on
    # Binder); sam's, written while the notebook acted for him, from the saved output.
    page.wait_for_function(
        "el => el.textContent.includes('audit log')",
        arg=_card(page, "first-query").element_handle(),
        timeout=30_000,
    )
    assert "saved output" in (_card(page, "support").text_content() or "")

    # The result tables mark masked columns in the notebook itself.
    first = page.locator(".jp-NotebookPanel:visible .jp-Cell", has_text="%%masked_sql first=")
    masked = first.locator("th.jm-masked").all_text_contents()
    assert [h.split()[0] for h in masked] == [
        "full_name",
        "email",
        "phone",
        "ssn",
        "date_of_birth",
    ]
    assert first.locator("th", has_text="city").locator(".jm-badge").count() == 0

    # Click a card: its cell becomes the active one.
    _card(page, "ai").scroll_into_view_if_needed()
    _card(page, "ai").click()
    assert 'actor="ai:jupyter-ai"' in _active_cell_text(page)

    # The README picture: the first query and its card, side by side.
    _card(page, "first-query").scroll_into_view_if_needed()
    _card(page, "first-query").click()
    assert "%%masked_sql first=" in _active_cell_text(page)
    page.wait_for_timeout(500)  # let the notebook scroll settle
    page.screenshot(path=str(artifacts / "sidebar.png"))
    assert (artifacts / "sidebar.png").stat().st_size > 20_000


def _card_id(handle: Any) -> str:
    value: str = handle.get_attribute("data-cell-id") or ""
    return value
