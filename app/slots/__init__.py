"""Delivery windows of a shop's day and the capacity orders take from them."""
