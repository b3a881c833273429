"""The documents home: trash, search, stars, recent and shared views, folders, copies."""
