"""Accessibility of the dashboard: axe-core's WCAG 2.1 A and AA rules on every tab, at desktop and phone width.

axe-core is vendored (tests/browser/vendor/axe.min.js, MPL-2.0, see its README): `make test` on a clean
clone needs no network, and a missing copy fails the test rather than skipping it. It is injected as an
init script (Page.addScriptToEvaluateOnNewDocument), which the monitor's Content-Security-Policy does not
govern, so the page is checked as it is served.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clara_monitor.settings import MonitorSettings
from tests.browser.test_dashboard import TABS, open_range, seeded, wait_until

pytestmark = pytest.mark.browser

__all__ = ["seeded"]  # the module's database: test_dashboard's seeded dashboard, with alerts and drift

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_VERSION = "4.14.1"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"critical", "serious"}
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1366, "height": 900}, "device_scale_factor": 1},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
# What each tab shows once drawn: the run waits for it, so that axe sees the tab's tables and notes.
TAB_READY = {
    "main": "window.claraState.metrics !== null",
    "metrics": "window.claraState.metrics !== null",
    "samples": "window.claraState.metrics !== null",
    "class-metrics": "document.querySelectorAll('#confusion-table td.cell').length > 0",
    "training": "document.querySelectorAll('#training-table tbody tr').length > 0",
    "drift": "document.querySelectorAll('#alerts-table tbody tr').length > 0",
}
# axe.run on a selector with the given runOnly option; each violation reduced to what a failure message needs.
RUN_AXE = """async ([selector, runOnly]) => {
  const result = await window.axe.run(selector, {runOnly, resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))}));
}"""


def axe_source() -> str:
    """Return the vendored axe-core; fail, never skip, where it is missing."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: see tests/browser/vendor/README.md to restore axe-core {AXE_VERSION}")
    return AXE.read_text(encoding="utf-8")


def axe_page(browser, base_url: str, settings: MonitorSettings, width: str, tab: str = "main"):
    """Return a page with axe-core, at `width`, on the last 30 days (the seeded incidents and drift) at `tab`."""
    context = browser.new_context(locale="en-US", **VIEWPORTS[width])
    context.add_init_script(script=axe_source())
    page = context.new_page()
    open_range(page, base_url, settings, days=30, tab=tab)
    assert page.evaluate("window.axe && window.axe.version") == AXE_VERSION
    return page


def violations(page, selector: str, run_only: object) -> list[dict]:
    return page.evaluate(RUN_AXE, [selector, run_only])


def describe(found: list[dict]) -> str:
    return "\n".join(
        f"{v['impact']} {v['id']} ({v['help']}): " + "; ".join(f"{n['target']}: {n['summary']}" for n in v["nodes"])
        for v in found
    )


@pytest.mark.parametrize("width", VIEWPORTS)
def test_every_tab_has_no_serious_or_critical_wcag_violation(
    browser, base_url: str, seeded: MonitorSettings, width: str
) -> None:
    page = axe_page(browser, base_url, seeded, width)
    found = {}
    for tab in TABS:
        page.click(f"#tab-{tab}")
        wait_until(page, TAB_READY[tab])
        page.wait_for_timeout(300)  # the charts' animation: the text over them is checked as it rests
        blocking = [
            v for v in violations(page, "body", {"type": "tag", "values": WCAG_21_AA}) if v["impact"] in BLOCKING
        ]
        if blocking:
            found[tab] = describe(blocking)
    page.context.close()
    assert not found, "\n".join(f"[{width}, {tab}] {text}" for tab, text in found.items())


def test_the_darkest_shades_of_the_confusion_matrix_keep_their_text_readable(
    browser, base_url: str, seeded: MonitorSettings
) -> None:
    """Every cell at the top of the heat scale (a share of 1), in both hues: the seeded shares stop short of it."""
    page = axe_page(browser, base_url, seeded, "desktop", tab="class-metrics")
    wait_until(page, TAB_READY["class-metrics"])
    page.evaluate(
        "document.querySelectorAll('#confusion-table td.cell').forEach(c => c.style.setProperty('--heat', 1))"
    )
    found = violations(page, "#confusion-table", ["color-contrast"])
    page.context.close()
    assert not found, describe(found)


# -- the wide tables on a phone (issue 19, item 9) ---------------------------------------------------


def phone_page(browser, base_url: str, settings: MonitorSettings, tab: str, ready: str):
    """Return a page at phone width on the last 30 days at `tab`, once `ready` holds."""
    context = browser.new_context(locale="en-US", **VIEWPORTS["phone"])
    page = context.new_page()
    open_range(page, base_url, settings, days=30, tab=tab)
    wait_until(page, ready)
    page.wait_for_timeout(300)
    return page


def test_on_a_phone_each_incident_is_a_card_with_every_value_named(
    browser, base_url: str, seeded: MonitorSettings
) -> None:
    page = phone_page(browser, base_url, seeded, "drift", TAB_READY["drift"])
    width = VIEWPORTS["phone"]["viewport"]["width"]
    cells = page.evaluate(
        """() => { const names = [...document.querySelectorAll('#alerts-table thead th')].map(th => th.textContent);
        return [...document.querySelectorAll('#alerts-table tbody tr')].flatMap(row => [...row.cells].map((td, i) => {
          const box = td.getBoundingClientRect();
          return {column: names[i], label: getComputedStyle(td, '::before').content, left: box.left, right: box.right,
                  clipped: td.scrollWidth > td.clientWidth + 1}; })); }"""
    )
    assert cells
    for cell in cells:  # on screen, whole, and said with its column's name
        assert cell["left"] >= 0 and cell["right"] <= width, cell
        assert not cell["clipped"], cell
        assert cell["label"] == f'"{cell["column"]}"', cell
    region = "document.querySelector('#card-alerts .table-scroll')"
    assert page.evaluate(f"{region}.scrollWidth <= {region}.clientWidth"), "nothing to scroll sideways"
    page.context.close()


def test_on_a_phone_the_confusion_matrix_scrolls_by_keyboard_beside_its_class_names(
    browser, base_url: str, seeded: MonitorSettings
) -> None:
    page = phone_page(browser, base_url, seeded, "class-metrics", TAB_READY["class-metrics"])
    region = page.locator("#card-confusion .table-scroll")
    assert page.evaluate("(r) => r.scrollWidth > r.clientWidth", region.element_handle()), "the matrix is wider here"
    page.focus("#confusion-rows")
    page.keyboard.press("Tab")  # the next stop is the matrix, which the arrow keys then scroll
    assert page.evaluate("document.activeElement.matches('#card-confusion .table-scroll')")
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)  # smooth scrolling
    edges = page.evaluate(
        """(r) => { const box = r.getBoundingClientRect(); const inside = (c) => { const b = c.getBoundingClientRect();
          return b.left >= box.left - 1 && b.right <= box.right + 1; };
        return {scrolled: r.scrollLeft, atEnd: r.scrollLeft + r.clientWidth >= r.scrollWidth - 1,
                names: [...r.querySelectorAll('tbody th[scope=row], tfoot th')].map(inside),
                total: inside(r.querySelector('thead th:last-child'))}; }""",
        region.element_handle(),
    )
    assert edges["scrolled"] > 0 and edges["atEnd"], edges
    assert all(edges["names"]) and edges["total"], edges  # the class names stay beside the last column
    page.context.close()
