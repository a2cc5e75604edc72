"""The customer's tracking page: /t/<token>, a small server-rendered page that shows how the order goes."""
