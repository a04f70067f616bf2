"""Notifications: rendering emails in the recipient's language, the outbox, the SMTP sender."""
