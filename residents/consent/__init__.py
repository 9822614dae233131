"""Personal data only by consent (本人同意): services that receive it, consent texts and records, the
broker's consent check with its linkage records, and a person's history. See docs/consent.md."""
