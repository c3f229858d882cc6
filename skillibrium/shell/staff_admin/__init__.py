"""Skillibrium staff's Django admin at /staff/admin/: integrations, runs, tasks, incidents and organizations,
read-only, for staff who signed in with their authenticator app. `site.py` is who gets in; `registry.py`
registers what it shows (import the site from there)."""
