"""The consortium secretariat's desk (事務局): member import and report, inquiries, events, progress."""
