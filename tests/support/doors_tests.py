"""One set of rules at every door, tested as a user tests it: this module is copied
beside a copy grown by every recipe and run by `python hello.py test`
(test_serve_it_on_your_own_server.py). The sprint form, the admin and the API refuse
the same sprint and the same task, for the same reason; logins at the API land on a
page that exists."""

import datetime
import json

from django.contrib.auth.models import User
from django.test import TestCase

from hello import Sprint, Task

YESTERDAY = datetime.date.today() - datetime.timedelta(days=1)
NEXT_MONTH = datetime.date.today() + datetime.timedelta(days=30)
PAST = "A sprint cannot end in the past."
UNSPRINTED = "A task in no sprint is not started."
NO_START = "A task not started has no start date."
NOT_DONE = "A task not done has no completion date."


class EveryDoorTests(TestCase):
    def setUp(self):
        self.admin = User.objects.create_superuser("boss", password="a-long-pass-1234")
        self.client.force_login(self.admin)

    def api(self, path, data, method="post"):
        send = getattr(self.client, method)
        return send(path, json.dumps(data), content_type="application/json")

    def test_a_sprint_ending_in_the_past_is_refused_at_every_door(self):
        form = self.client.post("/sprints/", {"end": YESTERDAY})
        self.assertContains(form, PAST)
        admin = self.client.post("/admin/hello/sprint/add/", {"end": YESTERDAY})
        self.assertContains(admin, PAST)
        api = self.api("/api/sprints/", {"end": str(YESTERDAY)})
        self.assertEqual((api.status_code, api.json()), (400, {"end": [PAST]}))
        self.assertFalse(Sprint.objects.exists())

    def test_a_sprint_ending_later_is_added_at_every_door(self):
        self.assertRedirects(
            self.client.post("/sprints/", {"end": NEXT_MONTH}), "/sprints/"
        )
        later = NEXT_MONTH + datetime.timedelta(days=1)
        admin = self.client.post("/admin/hello/sprint/add/", {"end": later})
        self.assertEqual(admin.status_code, 302)
        latest = later + datetime.timedelta(days=1)
        self.assertEqual(
            self.api("/api/sprints/", {"end": str(latest)}).status_code, 201
        )
        self.assertEqual(Sprint.objects.count(), 3)

    def test_a_sprint_that_has_ended_stays_editable(self):
        ended = Sprint.objects.create(name="Old", end=YESTERDAY)
        api = self.api(f"/api/sprints/{ended.pk}/", {"name": "Older"}, "patch")
        self.assertEqual(api.status_code, 200, api.content)
        admin = self.client.post(
            f"/admin/hello/sprint/{ended.pk}/change/",
            {"name": "Oldest", "end": YESTERDAY},
        )
        self.assertEqual(admin.status_code, 302)
        self.assertEqual(Sprint.objects.get().name, "Oldest")

    def test_a_task_breaking_a_rule_is_refused_by_the_admin_and_the_api(self):
        sprint = Sprint.objects.create(end=NEXT_MONTH)
        cases = [
            ({"status": Task.Status.ACTIVE}, UNSPRINTED),
            ({"sprint": sprint, "started": YESTERDAY}, NO_START),
            ({"sprint": sprint, "status": 2, "completed": YESTERDAY}, NOT_DONE),
        ]
        for fields, reason in cases:
            with self.subTest(reason):
                form = {"name": "Plan", "status": 1, "order": 0, **fields}
                form["sprint"] = fields["sprint"].pk if "sprint" in fields else ""
                admin = self.client.post("/admin/hello/task/add/", form)
                self.assertContains(admin, reason)
                sent = {**form, "sprint": None, "started": None, "completed": None}
                if "sprint" in fields:
                    sent["sprint"] = f"http://testserver/api/sprints/{sprint.pk}/"
                for date in ("started", "completed"):
                    if date in fields:
                        sent[date] = str(fields[date])
                api = self.api("/api/tasks/", sent)
                self.assertEqual(api.status_code, 400, api.content)
                self.assertEqual(api.json(), {"non_field_errors": [reason]})
        self.assertFalse(Task.objects.exists())


class ApiLoginTests(TestCase):
    def test_logging_in_with_no_next_page_lands_on_the_apis_root(self):
        User.objects.create_user("member", password="a-long-pass-1234")
        page = self.client.get("/api/auth/login/")
        token = page.cookies["csrftoken"].value
        login = self.client.post(
            "/api/auth/login/",
            {"username": "member", "password": "a-long-pass-1234"},
            headers={"x-csrftoken": token},
        )
        self.assertRedirects(login, "/api/")

    def test_logging_out_with_a_refused_next_page_lands_on_the_apis_root(self):
        member = User.objects.create_user("member", password="a-long-pass-1234")
        self.client.force_login(member)
        logout = self.client.post("/api/auth/logout/?next=https://evil.example/")
        self.assertRedirects(logout, "/api/", fetch_redirect_response=False)
        self.assertEqual(self.client.get("/api/").status_code, 403)
