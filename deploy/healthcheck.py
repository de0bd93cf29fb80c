"""The container's HEALTHCHECK: GET /health from inside the container, exit 0 if it is 200.

The request carries a Host header the app accepts: the first name in ALLOWED_HOSTS (a
wildcard ".example.com" as example.com), so the check works when ALLOWED_HOSTS holds only
the real host; a plain 127.0.0.1 would be refused as a disallowed host (400). /health is
exempt from the HTTPS redirect (SECURE_REDIRECT_EXEMPT), so plain HTTP on the port is fine.
Standard library only: it runs every 30 s and must not load Django.
"""

from __future__ import annotations

import http.client
import os
import sys

DEFAULT_HOSTS = "localhost,127.0.0.1,[::1],testserver"


def host_header(allowed_hosts: str | None) -> str:
    for host in (allowed_hosts or DEFAULT_HOSTS).split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def main() -> int:
    port = int(os.environ.get("HEALTHCHECK_PORT") or 8000)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=4)
    try:
        connection.request(
            "GET", "/health", headers={"Host": host_header(os.environ.get("ALLOWED_HOSTS"))}
        )
        status = connection.getresponse().status
    except OSError as exc:
        print(f"health check failed: {exc}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if status != 200:
        print(f"health check: HTTP {status}", file=sys.stderr)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
