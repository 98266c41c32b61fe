"""Alarms (issue 13): rules per account, a lifecycle with one active alarm per rule and subject, the
evaluation jobs, and notifications by e-mail and webhook through an outbox (README "Alarms and notifications")."""
