"""Helpers of the layout and screenshot tests: a page per viewport and colour scheme, the
demo login, waiting for htmx, and measuring sideways overflow."""

from __future__ import annotations

from contextlib import contextmanager

# scrollWidth counts everything laid out, also what only overflows into a scrolling box's
# own area; the page is fine when its scrolling element is no wider than the window.
OVERFLOW = """() => {
  const root = document.scrollingElement;
  const wide = [];
  if (root.scrollWidth > root.clientWidth) {
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      if (box.width && box.right > root.clientWidth + 1) {
        let clipped = false;
        for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
          if (getComputedStyle(up).overflowX !== 'visible') { clipped = true; break; }
        }
        const name = `${el.tagName.toLowerCase()}.${el.className}`;
        if (!clipped) wide.push(`${name} ${Math.round(box.right)}px`);
      }
    }
  }
  return {scroll: root.scrollWidth, client: root.clientWidth, wide: wide.slice(0, 5)};
}"""


# The tap targets a phone needs to be 40 px tall: the nav's links, and the buttons, links
# and fields of forms.
SMALL_TARGETS = """() => {
  const selector = 'header a, header button, main form button, main form select, .button, '
    + 'main form input:not([type=checkbox], [type=radio], [type=hidden], [type=file])';
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (box.width && box.height && box.height < 40 && !el.closest('.skip-link, [hidden]')) {
      small.push(`${el.tagName.toLowerCase()} "${(el.textContent || el.name || '').trim()}" `
        + `${Math.round(box.height)}px`);
    }
  }
  return small.slice(0, 5);
}"""


@contextmanager
def browser_page(
    browser, live_server, viewport, color_scheme="light", device_scale_factor=1, locale="en-GB"
):
    """A page of its own context (viewport and colour scheme are per context), failing on
    JavaScript errors and on anything the Content-Security-Policy blocks."""
    context = browser.new_context(
        viewport=viewport,
        base_url=live_server.url,
        color_scheme=color_scheme,
        device_scale_factor=device_scale_factor,
        # The browser's language is what the app speaks to a user who has not chosen one.
        locale=locale,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors or blocked content: {errors}"


def log_in_as_demo(page) -> None:
    page.goto("/login/")
    page.fill("#id_username", "demo")
    page.fill("#id_password", "demo")
    page.click("main button[type=submit]")
    page.wait_for_url("**/")


def settle(page) -> None:
    """Wait until the page and its htmx requests (lazy charts, live tables) are done."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function("!document.querySelector('.htmx-request')")


def overflow(page) -> dict:
    return page.evaluate(OVERFLOW)
