"""The Merge layer: linked accounts, Merge's sync into common models, issues, webhooks, Link."""
