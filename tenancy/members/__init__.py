"""Consortium members beyond municipalities: organisations, intake and screening, project groups."""
