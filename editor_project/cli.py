"""The `collab-editor` command: Django's management commands for this project.

Installed as a console script by the wheel, so an installed copy can migrate,
collect static files or create users without the repository:

    collab-editor migrate --noinput
    collab-editor collectstatic --noinput

`manage.py` in a checkout calls the same function.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "editor_project.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv if argv is None else argv)


if __name__ == "__main__":
    main()
