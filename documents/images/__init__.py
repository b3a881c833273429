"""Images in documents: uploaded, sniffed, and served only to the document's readers."""
