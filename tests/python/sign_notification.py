"""Signs a notifyPayment the way Alipay's official Python SDK signs (global-alipay-sdk-python, tools/signature_tool),
over a pretty-printed body as the SDK's models serialise (json.dumps(indent=3)), and prints the body and headers as
JSON for the Rust test to post. Usage: sign_notification.py KEY_PEM CLIENT_ID PATH PAYMENT_REQUEST_ID"""

import json
import sys
from datetime import datetime, timezone

from com.alipay.ams.api.tools.signature_tool import sign
from com.alipay.ams.api.tools.webhook_tool import check_signature
from cryptography.hazmat.primitives import serialization

key_file, client_id, path, payment_request_id = sys.argv[1:5]

with open(key_file, "rb") as f:
    key = serialization.load_pem_private_key(f.read(), password=None)
# The SDK expects a PKCS#1 ("RSA PRIVATE KEY") PEM; the committed development key is PKCS#8.
pkcs1 = key.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption(),
).decode()
public = key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
).decode()

body = json.dumps(
    {
        "notifyType": "PAYMENT_RESULT",
        "result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success"},
        "paymentRequestId": payment_request_id,
        "paymentId": "sdk-" + payment_request_id,
        "paymentAmount": {"value": "1000", "currency": "PHP"},
        "paymentCreateTime": "2026-11-30T10:00:00+08:00",
        "paymentTime": "2026-11-30T10:01:00+08:00",
    },
    indent=3,
)
request_time = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
signature = sign("POST", path, client_id, request_time, body, pkcs1)
header = "algorithm=RSA256,keyVersion=1,signature=" + signature
# The SDK's own webhook check accepts what it signed (so the Rust side is compared with a working SDK).
assert check_signature("POST", path, client_id, request_time, body, header, public)
print(json.dumps({"body": body, "client-id": client_id, "request-time": request_time, "signature": header}))
