"""Tasks cases hands to grid workers' phones (回访 revisits)."""
