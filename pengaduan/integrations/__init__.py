"""Bridges to systems outside the office: complaints arriving from them and answers going back
(SP4N-LAPOR!, the office's mailbox). Each files and answers through services/, as the web
form does; jobs/ runs the ones that poll."""
