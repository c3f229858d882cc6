"""The site around the apps: what every page's frame shows and Skillibrium staff's operations view. It stands
above every app and may import any of them; no app imports it."""
