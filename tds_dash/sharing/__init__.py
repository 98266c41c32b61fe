"""Read-only share links: one account's presentation (/present/<token>) for visitors without a user account."""
