"""The Content-Security-Policy as Django documents it, tested as a user tests it: this
module is copied as tests.py beside a copy of hello.py with CSP_VIEWS added, and run by
`python hello.py test` (test_deploy_it.py)."""

from unittest import skipUnless

import django
from django.test import SimpleTestCase, override_settings

DEFAULT = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
DJANGO_6 = skipUnless(django.VERSION >= (6,), "Django 6 and later")


class ContentSecurityPolicyTests(SimpleTestCase):
    def test_every_page_carries_the_policy_secure_csp_names(self):
        self.assertEqual(self.client.get("/")["Content-Security-Policy"], DEFAULT)
        self.assertNotIn("Content-Security-Policy-Report-Only", self.client.get("/"))

    @override_settings(
        SECURE_CSP={
            "default-src": "'self'",
            "img-src": {"https://images.example", "'self'"},
            "upgrade-insecure-requests": True,
            "frame-src": None,
            "object-src": False,
            "media-src": [],
        }
    )
    def test_every_value_form_djangos_docs_give_reads_as_django_6_reads_it(self):
        self.assertEqual(
            self.client.get("/")["Content-Security-Policy"],
            "default-src 'self'; img-src 'self' https://images.example; "
            "upgrade-insecure-requests",
        )

    @override_settings(
        SECURE_CSP={
            "default-src": ["'self'"],
            "img-src": ["'self'", "https://images.example"],
        }
    )
    def test_override_settings_reaches_the_header(self):
        self.assertEqual(
            self.client.get("/")["Content-Security-Policy"],
            "default-src 'self'; img-src 'self' https://images.example",
        )

    def test_settings_changed_inside_a_test_reach_the_next_response(self):
        with self.settings(SECURE_CSP={"default-src": ["'self'"]}):
            self.assertEqual(
                self.client.get("/")["Content-Security-Policy"], "default-src 'self'"
            )
        self.assertEqual(self.client.get("/")["Content-Security-Policy"], DEFAULT)

    @override_settings(
        SECURE_CSP_REPORT_ONLY={
            "default-src": ["'self'"],
            "report-uri": ["/csp-reports"],
        }
    )
    def test_a_report_only_policy_goes_beside_the_enforced_one(self):
        response = self.client.get("/")
        self.assertEqual(
            response["Content-Security-Policy-Report-Only"],
            "default-src 'self'; report-uri /csp-reports",
        )
        self.assertEqual(response["Content-Security-Policy"], DEFAULT)

    @DJANGO_6
    def test_a_view_with_csp_override_gets_its_own_policy(self):
        self.assertEqual(
            self.client.get("/embeddable")["Content-Security-Policy"],
            "frame-ancestors https://partner.example",
        )

    @DJANGO_6
    def test_a_nonce_in_the_policy_is_the_one_the_page_uses(self):
        from django.utils.csp import CSP

        with self.settings(SECURE_CSP={"script-src": [CSP.SELF, CSP.NONCE]}):
            first, second = self.client.get("/scripted"), self.client.get("/scripted")
        for response in (first, second):
            nonce = response.content.decode().split('nonce="')[1].split('"')[0]
            self.assertEqual(
                response["Content-Security-Policy"],
                f"script-src 'self' 'nonce-{nonce}'",
            )
        self.assertNotEqual(first.content, second.content)
