"""The sandbox's HTTP surface: Merge's API, Merge Link, and the `/_sandbox` control API."""
