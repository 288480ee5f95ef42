"""A receiver written from the Onplana webhooks guide, in Python with the
standard library only: recompute the HMAC-SHA256 of the raw body with the
secret and compare it with the X-Onplana-Signature header using
hmac.compare_digest, as the guide advises.

Usage:

    python3 verify.py CASES.json

CASES.json holds {"cases": [{"name", "secret", "body", "headers", "want"}]},
body being the raw bytes in base64 and headers the request's headers.
For each case it prints whether the guide's check accepts the delivery
(and, when want_previous is set, whether the check extended to the
X-Onplana-Signature-Previous header accepts it), one line per case that
disagrees with the expectation, and exits 1 if any does. TestRotationInterop
runs it on deliveries captured during and after a secret rotation.
"""

import base64
import hashlib
import hmac
import json
import sys


def verify_onplana_webhook(raw_body, signature_header, secret):
    """The guide's check: the header is the hex HMAC of the raw body."""
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature_header)


def verify_with_previous(raw_body, headers, secret):
    """What a hand-written receiver that still holds the old secret adds
    during a rotation's grace period: each space-separated entry of
    X-Onplana-Signature-Previous is compared the same way."""
    if verify_onplana_webhook(raw_body, headers.get("X-Onplana-Signature", ""), secret):
        return True
    previous = headers.get("X-Onplana-Signature-Previous", "")
    return any(verify_onplana_webhook(raw_body, entry, secret) for entry in previous.split())


def main():
    if len(sys.argv) != 2:
        print("usage: python3 verify.py CASES.json")
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    failures = 0
    for case in doc["cases"]:
        body = base64.b64decode(case["body"])
        headers = case["headers"]
        got = verify_onplana_webhook(body, headers.get("X-Onplana-Signature", ""), case["secret"])
        if got != case["want"]:
            failures += 1
            print(f"{case['name']}: guide's check says {got}, want {case['want']}")
        if "want_previous" in case:
            got = verify_with_previous(body, headers, case["secret"])
            if got != case["want_previous"]:
                failures += 1
                print(f"{case['name']}: check with the previous header says {got}, want {case['want_previous']}")
    print(f"python: {len(doc['cases'])} cases, {failures} disagreements")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
