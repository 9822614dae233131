"""The consortium secretariat's desk: member import and report, inquiries, events, progress."""
