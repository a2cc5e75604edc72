"""Who is calling, as far as the network can tell."""

from flask import request


def client_ip() -> str:
    # ProxyFix (PROXY_COUNT) has already replaced remote_addr with the client's address.
    return request.remote_addr or "unknown"
