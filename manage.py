#!/usr/bin/env python
"""Django's command-line utility; the installed package has the same as `collab-editor`."""

from __future__ import annotations

from editor_project.cli import main

if __name__ == "__main__":
    main()
