"""Issued outputs: the signed PDF a citizen receives, and the codes that let anyone verify it."""
