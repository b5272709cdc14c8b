#!/usr/bin/env python3
"""Checks one Alipay notification's signature with Alipay's official Python SDK (global-alipay-sdk-python).

Usage: verify_sandbox_notification.py PATH CLIENT_ID REQUEST_TIME SIGNATURE_HEADER ALIPAY_PUBLIC_KEY_FILE < BODY

PATH is the path of the URL the notification was posted to; BODY (stdin) is the raw body as received;
SIGNATURE_HEADER is the whole `signature` header value. The key file may be PEM or bare base64 (SPKI).
Exits 0 when the SDK accepts the signature, 1 when it rejects it, 2 on a usage error.

This is the merchant side of the issue's cross-implementation check: the sandbox signs with Rust's RustCrypto,
the SDK verifies with the Python `rsa` package, so they share nothing but the wire format.
"""

import sys

from com.alipay.ams.api.tools.webhook_tool import check_signature


def bare_base64(key_text):
    # The SDK adds the PEM armour itself, as merchants paste keys without it.
    return "".join(line.strip() for line in key_text.splitlines() if not line.startswith("-----"))


def main(argv):
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    path, client_id, request_time, signature, key_file = argv[1:]
    with open(key_file, encoding="utf-8") as f:
        public_key = bare_base64(f.read())
    body = sys.stdin.buffer.read().decode("utf-8")
    try:
        verified = check_signature("POST", path, client_id, request_time, body, signature, public_key)
    except Exception as error:  # the SDK raises on a bad signature (rsa.VerificationError) or header
        print(f"rejected: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if not verified:
        print("rejected: the SDK returned false", file=sys.stderr)
        return 1
    print("verified")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
