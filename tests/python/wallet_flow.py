"""A client in another language: the auto-debit journey against a running alipay-gateway, with stubs generated
from proto/ at run time (grpcio-tools), and the error model's BadRequest details decoded.

Usage: python wallet_flow.py GATEWAY_ADDR PROTO_DIR
Exits non-zero (with an assertion message) on any deviation.
"""

import http.client
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import uuid

# google.rpc.Status and BadRequest, wire-compatible subsets of googleapis' definitions, so the check needs no
# package beyond grpcio-tools.
RPC_PROTOS = {
    "google/rpc/status.proto": """
syntax = "proto3";
package google.rpc;
import "google/protobuf/any.proto";
message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
""",
    "google/rpc/error_details.proto": """
syntax = "proto3";
package google.rpc;
message BadRequest {
  message FieldViolation { string field = 1; string description = 2; }
  repeated FieldViolation field_violations = 1;
}
message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
""",
}


def generate(proto_dir, out_dir):
    rpc_dir = os.path.join(out_dir, "rpc_protos")
    for name, text in RPC_PROTOS.items():
        path = os.path.join(rpc_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    gateway_protos = []
    for root, _, files in os.walk(os.path.join(proto_dir, "alipay")):
        gateway_protos += [os.path.relpath(os.path.join(root, f), proto_dir) for f in files if f.endswith(".proto")]
    import grpc_tools
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    for include, files in ((proto_dir, gateway_protos), (rpc_dir, list(RPC_PROTOS))):
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", "-I", include, "-I", well_known,
             "--python_out", out_dir, "--grpc_python_out", out_dir, *sorted(files)],
            check=True,
        )
    sys.path.insert(0, out_dir)


def follow_auth_page(auth_url, expected_state):
    """What a browser does on the wallet's H5 page: open it, submit 4 digits, read the 303's authCode."""
    with urllib.request.urlopen(auth_url) as page:
        assert page.status == 200, page.status
    url = urllib.parse.urlsplit(auth_url)
    conn = http.client.HTTPConnection(url.hostname, url.port)
    conn.request("POST", url.path + ("?" + url.query if url.query else ""), body="otp=4321",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    answer = conn.getresponse()
    assert answer.status == 303, answer.status
    location = urllib.parse.urlsplit(answer.getheader("Location"))
    query = dict(urllib.parse.parse_qsl(location.query))
    assert query["authState"] == expected_state, query
    return query["authCode"]


def main():
    target, proto_dir = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as out_dir:
        generate(proto_dir, out_dir)
        import grpc
        from alipay.gateway.v1 import authorization_pb2 as auth_pb, authorization_pb2_grpc as auth_grpc
        from alipay.gateway.v1 import common_pb2 as common
        from alipay.gateway.v1 import payment_pb2 as pay_pb, payment_pb2_grpc as pay_grpc
        from google.rpc import error_details_pb2, status_pb2

        channel = grpc.insecure_channel(target)
        auth = auth_grpc.AuthorizationServiceStub(channel)
        payments = pay_grpc.PaymentServiceStub(channel)

        state = uuid.uuid4().hex
        consult = auth.Consult(auth_pb.ConsultRequest(
            wallet=common.WALLET_GCASH,
            auth_redirect_url="https://merchant.example/wallet/return",
            auth_state=state,
            scopes=[auth_pb.AUTH_SCOPE_AGREEMENT_PAY],
            terminal_type=common.TERMINAL_TYPE_WEB,
        ), timeout=10)
        code = follow_auth_page(consult.auth_url, state)
        binding = auth.ApplyToken(auth_pb.ApplyTokenRequest(
            auth_code=code, wallet=common.WALLET_GCASH, customer_id="python-customer"), timeout=10).binding
        assert binding.status == auth_pb.BINDING_STATUS_ACTIVE, binding

        pay_id = "py-" + uuid.uuid4().hex
        paid = payments.Pay(pay_pb.PayRequest(
            payment_request_id=pay_id,
            payment_amount=common.Amount(currency="PHP", value=2500),
            order=common.Order(reference_order_id="py-order", order_description="Python order"),
            agreement=pay_pb.AgreementPaymentSource(binding_id=binding.binding_id),
        ), timeout=30).payment
        assert paid.status == common.PAYMENT_STATUS_SUCCESS, paid
        stored = payments.GetPayment(pay_pb.GetPaymentRequest(payment_request_id=pay_id), timeout=10).payment
        assert stored.payment_id == paid.payment_id and stored.status == common.PAYMENT_STATUS_SUCCESS, stored

        refund = payments.Refund(pay_pb.RefundRequest(
            refund_request_id="py-r-" + uuid.uuid4().hex,
            payment_request_id=pay_id,
            refund_amount=common.Amount(currency="PHP", value=2500),
        ), timeout=30).refund
        assert refund.status in (common.REFUND_STATUS_SUCCESS, common.REFUND_STATUS_PROCESSING), refund
        assert refund.payment_request_id == pay_id

        try:
            payments.Pay(pay_pb.PayRequest(payment_request_id="bad id with spaces"), timeout=10)
            raise AssertionError("an invalid Pay was accepted")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
            details = dict(error.trailing_metadata()).get("grpc-status-details-bin")
            assert details, "no grpc-status-details-bin trailer"
            status = status_pb2.Status.FromString(details)
            bad = error_details_pb2.BadRequest()
            assert any(d.Unpack(bad) for d in status.details), status
            fields = {v.field for v in bad.field_violations}
            for expected in ("payment_request_id", "payment_amount", "order", "source"):
                assert expected in fields, fields
        print("python wallet flow: OK")


if __name__ == "__main__":
    main()
