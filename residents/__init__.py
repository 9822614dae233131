"""The people the data is about: common IDs (共通ID), their encrypted personal items, links to services' IDs,
and their consent records (``residents.consent``: the services, consents, the check, the linkage records)."""
