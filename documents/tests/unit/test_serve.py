"""How the served process sets up its garbage collector."""

from __future__ import annotations

import gc

from editor_project.server import serve


def test_startup_objects_are_frozen_and_young_objects_collected_less_often():
    threshold = gc.get_threshold()
    try:
        serve._tune_garbage_collection()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (serve.YOUNG_COLLECTION_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
