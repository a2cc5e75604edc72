"""Integration keys: machine clients (a shop's website, a marketplace) calling the storefront API."""
