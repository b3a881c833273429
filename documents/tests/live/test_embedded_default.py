"""The embedded default, end to end: no DATABASE_URL, no REDIS_URL.

What `make run` serves is SQLite and the in-memory channel layer. The rest of
the suite runs on PostgreSQL and Redis, so this test starts a real server on a
SQLite file of its own and checks the paths that differ there: the log read
without PostgreSQL's binary cursor, compaction, and a restart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from devtools.child_server import ChildServer
from devtools.paths import ROOT
from devtools.waiting import wait_until
from documents.tests.support.realclients import NodeClient

SETUP = """
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from documents.models import Document, Membership, Role
owner = User.objects.create_user("ada", first_name="Ada")
editor = User.objects.create_user("bo", first_name="Bo")
doc = Document.objects.create(title="Embedded", owner=owner)
Membership.objects.create(document=doc, user=editor, role=Role.EDITOR)
cookies = []
for user in (owner, editor):
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    cookies.append("sessionid=" + session.session_key)
print(json.dumps({"document": str(doc.pk), "cookies": cookies}))
"""

STORED = """
from pycrdt import Doc, Text
from documents.storage import store
from documents.models import Document, Snapshot
doc = Document.objects.get()
ydoc = Doc()
ydoc.apply_update(store.load(doc.pk).update)
print(json.dumps({"text": str(ydoc.get("text", type=Text)),
                  "snapshots": Snapshot.objects.filter(document=doc).count()}))
"""


def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DEBUG="true",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
        DJANGO_SETTINGS_MODULE="editor_project.settings",
        # Compact often, so the snapshot path runs on SQLite too. Two: keystrokes
        # that reach the server together are stored as one row, so 30 of them
        # from two editors may take as few as two.
        COLLAB_COMPACT_AFTER_UPDATES="2",
    )
    return env


def django_script(env: dict[str, str], script: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", f"import json, django; django.setup()\n{script}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sqlite_and_in_memory_layer_keep_every_edit_across_a_restart(tmp_path):
    env = embedded_env(tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    setup = django_script(env, SETUP)
    document, (ada_cookie, bo_cookie) = setup["document"], setup["cookies"]
    server = ChildServer(env, tmp_path / "server.log").start()
    clients: list[NodeClient] = []
    try:
        ada = NodeClient(server.ws_url, document, ada_cookie, server.url)
        bo = NodeClient(server.ws_url, document, bo_cookie, server.url)
        clients += [ada, bo]
        ada.wait_synced()
        bo.wait_synced()
        wait_until(lambda: "Bo" in ada.peer_names(), 5)
        for i in range(15):
            ada.insert(f"a{i} ", 0)
            bo.insert(f"b{i} ")
        final = ada.wait_text(lambda t: t.count("a") == 15 and t.count("b") == 15)
        bo.wait_text(lambda t: t == final)

        server.restart()
        carol = NodeClient(server.ws_url, document, bo_cookie, server.url)
        clients.append(carol)
        carol.wait_synced()
        assert carol.wait_text(lambda t: t == final) == final
    finally:
        for client in clients:
            client.kill()
        server.stop()
    stored = django_script(env, STORED)
    assert stored["text"] == final
    assert stored["snapshots"] >= 1, server.log()


def test_a_password_change_on_sqlite_ends_the_users_sessions(tmp_path: Path):
    """The query for the user's documents is a UNION, which SQLite refuses with
    the model's default ordering in its parts: a password change crashed."""
    env = embedded_env(tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=True,
    )
    result = django_script(
        env,
        """
from unittest import mock
from django.contrib.auth.models import User
from documents.models import Document, Membership, Role
from documents.realtime import messages
owner = User.objects.create_user("cy", password="first-password-1")
other = User.objects.create_user("di")
Document.objects.create(title="Mine", owner=owner)
Membership.objects.create(
    document=Document.objects.create(title="Theirs", owner=other), user=owner, role=Role.EDITOR
)
with mock.patch.object(messages, "announce") as announce:
    owner.set_password("second-password-2")
    owner.save()
print(json.dumps({"announced": sorted(str(c.args[0]) for c in announce.call_args_list),
                  "documents": sorted(str(d.pk) for d in Document.objects.all())}))
""",
    )
    assert result["announced"] == result["documents"]
