"""cbsalert: tells AhsayCBS operators each morning which backups and restores need a human."""

__version__ = "0.1.0"
