"""Folders: the owner files their own documents, one folder per document at most.

A folder is its owner's alone: others see the document where it always was
(shared with me), and deleting a folder moves its documents back to the top.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from documents.library.models import FOLDER_NAME_MAX_LENGTH, Folder
from documents.models import Document
from documents.permissions import can_manage, role_for

MAX_FOLDERS_PER_USER = 200


def folder_name(name: str) -> str:
    """A folder's name as stored: one line, trimmed, not empty, within the column's length."""
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise ValidationError("A folder needs a name.")
    if len(cleaned) > FOLDER_NAME_MAX_LENGTH:
        raise ValidationError(f"A folder name can be at most {FOLDER_NAME_MAX_LENGTH} characters.")
    return cleaned


def _saved(folder: Folder) -> Folder:
    try:
        with transaction.atomic():
            folder.save()
    except IntegrityError:
        raise ValidationError(f"You already have a folder named “{folder.name}”.") from None
    return folder


def folder_create(*, owner: Any, name: str) -> Folder:
    """A new folder of the owner's."""
    cleaned = folder_name(name)
    if Folder.objects.filter(owner_id=owner.pk).count() >= MAX_FOLDERS_PER_USER:
        raise ValidationError(f"You can have at most {MAX_FOLDERS_PER_USER} folders.")
    return _saved(Folder(owner=owner, name=cleaned))


def folder_rename(*, folder: Folder, user: Any, name: str) -> Folder:
    """Rename one of the user's folders."""
    if folder.owner_id != user.pk:
        raise PermissionDenied("Only the folder's owner may rename it.")
    folder.name = folder_name(name)
    return _saved(folder)


@transaction.atomic
def folder_delete(*, folder: Folder, user: Any) -> None:
    """Delete one of the user's folders; its documents go back to the top level."""
    if folder.owner_id != user.pk:
        raise PermissionDenied("Only the folder's owner may delete it.")
    Document.objects.filter(folder=folder).update(folder=None)
    folder.delete()


@transaction.atomic
def document_move(*, document: Document, user: Any, folder: Folder | None) -> None:
    """File the document in one of its owner's folders (None: the top level); owner only."""
    if not can_manage(role_for(user, document)):
        raise PermissionDenied("Only the owner may file a document in a folder.")
    if folder is not None and folder.owner_id != user.pk:
        raise PermissionDenied("That folder is not yours.")
    # A queryset update: filing is not an edit, so "last edited" stays.
    Document.objects.filter(pk=document.pk).update(folder=folder)
    document.folder = folder
