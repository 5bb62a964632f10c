"""Running the deployment: accounts, units and categories (accounts), signing in
(auth), the working-day calendar and the deadlines a change of it moves (calendar,
recompute), and demonstration data (demo)."""
