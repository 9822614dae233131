"""Billing: sharing the platform's yearly costs among the prefecture and its municipalities."""
