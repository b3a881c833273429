"""The Django admin: where quarantined updates and e-mail addresses are inspected.

A quarantined update is a stored update that could not be applied to the
document's content; loads skip it and it is never deleted (see
documents/storage/store.py). The admin lists them so that someone can look.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from documents.models import DocumentImage, DocumentUpdate, EmailAddress


@admin.register(DocumentUpdate)
class DocumentUpdateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["document_id", "seq", "quarantined", "size", "author", "created_at"]
    list_filter = ["quarantined"]
    search_fields = ["document__id"]
    list_select_related = ["author"]
    ordering = ["-id"]
    # The log is the document's history: read-only here, as the app writes it.
    readonly_fields = ["document", "seq", "size", "author", "created_at", "quarantined", "hex"]
    exclude = ["data"]
    show_full_result_count = False  # a count of the whole log would scan it

    @admin.display(description="bytes")
    def size(self, obj: DocumentUpdate) -> int:
        return len(obj.data)

    @admin.display(description="data (hex, first 4 KiB)")
    def hex(self, obj: DocumentUpdate) -> str:
        return bytes(obj.data[:4096]).hex(" ")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: DocumentUpdate | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: DocumentUpdate | None = None
    ) -> bool:
        return False


@admin.register(EmailAddress)
class EmailAddressAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Who claimed which address, and who confirmed it. Read-only: only the
    link mailed to an address proves it, so the admin cannot confirm one."""

    list_display = ["email", "user", "verified_at", "created_at"]
    list_filter = [("verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "user__username"]
    list_select_related = ["user"]
    ordering = ["-id"]
    readonly_fields = ["user", "email", "verified_at", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EmailAddress | None = None) -> bool:
        return False


@admin.register(DocumentImage)
class DocumentImageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Uploaded images: which document, who, how big. Read-only: the bytes were sniffed
    on upload, and a replaced file would skip that check."""

    list_display = ["id", "document_id", "content_type", "width", "height", "size", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["document__id", "id"]
    ordering = ["-created_at"]
    readonly_fields = [
        "id",
        "document",
        "file",
        "content_type",
        "width",
        "height",
        "size",
        "uploaded_by",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DocumentImage | None = None) -> bool:
        return False


# -- comments (documents/comments/) ---------------------------------------------------

from documents.comments.models import (  # noqa: E402
    Comment,
    CommentThread,
    Notification,
    NotificationSettings,
)


class CommentInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Comment
    extra = 0
    fields = ["author", "body", "created_at", "edited_at"]
    readonly_fields = ["author", "created_at", "edited_at"]


@admin.register(CommentThread)
class CommentThreadAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Threads and their comments, for moderation: text can be edited or deleted, anchors not."""

    list_display = ["id", "document", "created_by", "quote", "resolved_at", "created_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["quote", "document__title", "created_by__username"]
    list_select_related = ["document", "created_by"]
    readonly_fields = ["document", "created_by", "anchor_from", "anchor_to", "created_at"]
    inlines = [CommentInline]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "kind", "actor", "created_at", "read_at", "mailed_at"]
    list_filter = ["kind"]
    list_select_related = ["user", "actor"]
    readonly_fields = ["user", "kind", "comment", "actor", "created_at", "read_at", "mailed_at"]


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "email_enabled"]
    list_select_related = ["user"]
