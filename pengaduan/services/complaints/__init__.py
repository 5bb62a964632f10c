"""A complaint's life: filing it (intake), taking its steps (lifecycle), what the
complainant reads and does with code and PIN (citizen, tracking, receipts), what the public may
read (publication), the staff's work on it (queue, casework, responses) and who is told
(notifications)."""
