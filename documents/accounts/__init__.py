"""Accounts: sign-up, the throttled log-in, and confirmed e-mail addresses."""
