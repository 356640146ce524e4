"""Recipient validation: phone numbers, email addresses and the simulated recipients."""
