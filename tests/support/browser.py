"""A real browser: Debian's Chromium, headless, driven by Selenium through Debian's
chromedriver. Every page it opens records the Content-Security-Policy violations the
browser itself reports (`securitypolicyviolation` events)."""

import shutil
import tempfile
from contextlib import contextmanager

from support.tools import missing

# Runs in every page before the page's own code, outside the page's policy.
RECORD_VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  // The directive, what it blocked, and the element that asked for it.
  const element = event.target && event.target.outerHTML;
  window.violations.push(
    `${event.effectiveDirective} ${event.blockedURI} ${element ? element.slice(0, 200) : ""}`
  );
});
"""


@contextmanager
def chromium():
    """A headless Chromium that trusts the tests' own certificate, stopped afterwards."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium is not installed (pip install -r tests/requirements.txt)")
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        missing("chromium and chromedriver are not installed (Debian packages)")
    profile = tempfile.mkdtemp(prefix="chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",  # as root, as CI runs
        "--disable-gpu",
        "--disable-dev-shm-usage",
        # No connection anywhere but the tests' servers: there is no other network.
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--ignore-certificate-errors",  # the certificate nginx_argv makes for localhost
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    session = webdriver.Chrome(options=options, service=Service(driver))
    try:
        session.set_page_load_timeout(30)
        session.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS}
        )
        yield session
    finally:
        session.quit()
        shutil.rmtree(profile, ignore_errors=True)


def violations(session):
    """The CSP violations the browser reported on the page it shows."""
    return session.execute_script("return window.violations")
