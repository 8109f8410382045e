"""What works for whom: an outcome ledger of closed commitments, and the advice read from it."""
