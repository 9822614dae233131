"""The people the data is about: common IDs (共通ID), their encrypted personal items, links to services' IDs."""
