"""Promo codes: percent or fixed discounts with a counted number of uses."""
