"""Presentation mode: /present?account=<slug> for signed-in users, /present/<token> for share links."""
