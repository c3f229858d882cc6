"""Simulated HRIS and CRM providers: tenants, their people, and their sync users."""
