#!/usr/bin/env python3
"""Scans the gateway logs of a whole test run for credentials.

scripts/test runs the suite with ALIPAY_GATEWAY_TEST_LOG_DIR set: every gateway process then logs at trace level
in JSON into that directory (gateway-*.log), and the credentials its sandbox issued or received (authCodes, access
and refresh tokens, payment codes, card tokens) are written beside each log (gateway-*.credentials). This script
fails when any of those credentials, any of the sandbox's test card numbers, or any line of the given private keys
appears in any log.

Usage: scan.py LOG_DIR PRIVATE_KEY_PEM...
"""

import pathlib
import re
import sys

TOKEN = re.compile(r"[A-Za-z0-9_\-]{8,}")

# The sandbox issuer's test cards (docs/sandbox.md, "Cards"): a card number is never logged, whichever test used it.
TEST_CARD_NUMBERS = {
    "4111111111111111",
    "5555555555554444",
    "378282246310005",
    "4000000000003063",
    "4000000000003220",
    "4000000000000002",
    "4000000000009995",
    "4000000000000069",
    "4000000000000127",
    "4100000000000019",
    "6200000000000005",
}


def main() -> int:
    log_dir = pathlib.Path(sys.argv[1])
    credentials = set()
    for path in log_dir.glob("*.credentials"):
        credentials.update(line.strip() for line in path.read_text().splitlines() if len(line.strip()) >= 8)
    credentials.update(TEST_CARD_NUMBERS)
    key_lines = set()
    for key in sys.argv[2:]:
        key_lines.update(
            line.strip()
            for line in pathlib.Path(key).read_text().splitlines()
            if len(line.strip()) >= 40 and not line.startswith("-----")
        )
    logs = sorted(log_dir.glob("*.log"))
    size = 0
    leaks = []
    for log in logs:
        text = log.read_text(errors="replace")
        size += len(text)
        found = credentials.intersection(TOKEN.findall(text))
        found.update(line for line in key_lines if line in text)
        leaks.extend(f"{log.name}: {secret[:6]}… ({len(secret)} characters)" for secret in sorted(found))
    print(
        f"scan.py: {len(logs)} gateway logs ({size / 1e6:.1f} MB at trace level, JSON) searched for "
        f"{len(credentials)} credentials and {len(key_lines)} private-key lines"
    )
    if not logs or not credentials:
        print("scan.py: nothing to scan: was ALIPAY_GATEWAY_TEST_LOG_DIR set for the run?", file=sys.stderr)
        return 1
    if leaks:
        print("scan.py: credentials found in the logs:\n" + "\n".join(leaks), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
