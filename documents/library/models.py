"""The home page's rows: folders, stars, recent opens, and the text mirror search reads.

Imported by documents/models.py, so they belong to the documents app.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models

FOLDER_NAME_MAX_LENGTH = 100


class Folder(models.Model):
    """A folder its owner files their own documents in; one level, as Google Docs' home shows."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="folders"
    )
    name = models.CharField(max_length=FOLDER_NAME_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="one_folder_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name


class Star(models.Model):
    """A user marked a document they can open as one to keep at hand."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey("Document", on_delete=models.CASCADE, related_name="stars")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "document"], name="one_star_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} starred {self.document_id}"


class RecentOpen(models.Model):
    """When a user last opened a document: the "recent" view sorts by it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey("Document", on_delete=models.CASCADE, related_name="opens")
    opened_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "document"], name="one_recent_open_per_user")
        ]
        indexes = [models.Index(fields=["user", "-opened_at"], name="recent_open_by_user")]

    def __str__(self) -> str:
        return f"{self.user_id} opened {self.document_id}"


class DocumentText(models.Model):
    """The body as plain text, mirrored from the shared document as people type.

    Kept in a table of its own so the list pages never read bodies. `vector` is
    PostgreSQL's tsvector of title and body (weighted A and B), written with the
    text (documents/library/search.py); on SQLite it stays NULL and search falls
    back to a plain substring match.
    """

    document = models.OneToOneField(
        "Document", primary_key=True, on_delete=models.CASCADE, related_name="text"
    )
    body = models.TextField(blank=True, default="")
    vector = SearchVectorField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"text of {self.document_id}"
