"""Browser tests: Debian's chromium, driven by Playwright, on the pages of the local stack.

A package, so that its conftest.py is imported as `browser.conftest` and does not clash with tests/conftest.py
(the other folders, which are not packages, share helpers through modules such as e2e_stack.py instead).
"""
