"""The couriers' day: assigned deliveries, pick-up, delivery, failed attempts and proof photos."""
