"""Operator operations shared by the CLI and the operator API: plain functions on a session.

They add and change rows but never commit; the caller owns the transaction.
"""
