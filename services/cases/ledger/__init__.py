"""The ledger (台账): the case list as CSV or .xlsx."""
