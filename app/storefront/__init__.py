"""The storefront API: what a shop's website or a marketplace calls with an integration key."""
