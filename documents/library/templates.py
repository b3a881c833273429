"""The built-in templates a document can start from, as the editor's own content tree.

Each is a list of blocks that `fill` writes into a new document's shared
XmlFragment, the way Tiptap writes them (headings carry their level as a float,
list items hold paragraphs), so the editor opens it as if someone had typed it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from documents.export.tree import FRAGMENT

Block = tuple[str, str] | tuple[str, list[str]]  # ("h1"/"h2"/"p", text) or ("ul", items)


@dataclass(frozen=True)
class Template:
    key: str
    name: str
    description: str
    title: str
    blocks: tuple[Block, ...]


TEMPLATES: dict[str, Template] = {
    t.key: t
    for t in (
        Template(
            key="meeting-notes",
            name="Meeting notes",
            description="Attendees, agenda, decisions and action items.",
            title="Meeting notes",
            blocks=(
                ("h1", "Meeting notes"),
                ("p", "Date: "),
                ("h2", "Attendees"),
                ("ul", [""]),
                ("h2", "Agenda"),
                ("ul", [""]),
                ("h2", "Notes"),
                ("p", ""),
                ("h2", "Decisions"),
                ("ul", [""]),
                ("h2", "Action items"),
                ("ul", ["Who: what, by when"]),
            ),
        ),
        Template(
            key="project-plan",
            name="Project plan",
            description="Goal, scope, milestones, risks and owners.",
            title="Project plan",
            blocks=(
                ("h1", "Project plan"),
                ("h2", "Goal"),
                ("p", "What does success look like?"),
                ("h2", "Scope"),
                ("ul", ["In scope: ", "Out of scope: "]),
                ("h2", "Milestones"),
                ("ul", ["Milestone 1: date", "Milestone 2: date"]),
                ("h2", "Risks"),
                ("ul", [""]),
                ("h2", "Owners"),
                ("p", ""),
            ),
        ),
    )
}


def _text(text: str) -> list[XmlText]:
    return [XmlText(text)] if text else []


def _paragraph(text: str) -> XmlElement:
    return XmlElement("paragraph", {}, _text(text))


def fill(doc: Doc, template: Template) -> None:
    """Write the template's blocks into the document's body."""
    fragment = doc.get(FRAGMENT, type=XmlFragment)
    for kind, content in template.blocks:
        if kind == "ul":
            assert isinstance(content, list)
            items = [XmlElement("listItem", {}, [_paragraph(item)]) for item in content]
            fragment.children.append(XmlElement("bulletList", {}, items))
        elif kind in ("h1", "h2"):
            assert isinstance(content, str)
            level = 1.0 if kind == "h1" else 2.0
            # A number, as Tiptap writes it (pycrdt's hints say str; Yjs takes any JSON value).
            attrs: dict[str, float] = {"level": level}
            heading = XmlElement("heading", attrs, _text(content))  # type: ignore[arg-type]
            fragment.children.append(heading)
        else:
            assert isinstance(content, str)
            fragment.children.append(_paragraph(content))
