"""The incident register (障害): platform failures opened by hand or by the availability probe, their
timeline, the 24-hour recovery clock, and the first and final reports to the prefecture as letters;
the identity incidents of :mod:`tenancy.identity.incidents` are listed in the same register."""
