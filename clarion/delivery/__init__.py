"""Delivery: accepting notifications, handing them to providers, and the status machine."""
