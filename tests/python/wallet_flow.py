"""A client in another language: the auto-debit journey against a running alipay-gateway, with stubs generated
from proto/ at run time (grpcio-tools) and the error model decoded with grpcio-status, as docs/clients.md shows.

Usage: python wallet_flow.py GATEWAY_ADDR PROTO_DIR
Exits non-zero (with an assertion message) on any deviation.
"""

import http.client
import sys
import tempfile
import urllib.parse
import urllib.request
import uuid

from grpc_client import details_of, generate

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
        from google.rpc import error_details_pb2

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
            bad = details_of(error, error_details_pb2.BadRequest)
            fields = {v.field for v in bad.field_violations}
            for expected in ("payment_request_id", "payment_amount", "order", "source"):
                assert expected in fields, fields

        # A decline: FAILED_PRECONDITION whose ErrorInfo reason is Alipay's result code (amount 91001 in the
        # sandbox's scenario table).
        try:
            payments.Pay(pay_pb.PayRequest(
                payment_request_id="py-d-" + uuid.uuid4().hex,
                payment_amount=common.Amount(currency="PHP", value=91001),
                order=common.Order(reference_order_id="py-order", order_description="Python order"),
                agreement=pay_pb.AgreementPaymentSource(binding_id=binding.binding_id),
            ), timeout=30)
            raise AssertionError("the decline scenario was charged")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
            info = details_of(error, error_details_pb2.ErrorInfo)
            assert (info.reason, info.domain) == ("USER_BALANCE_NOT_ENOUGH", "alipay.com"), info
            assert info.metadata["result_status"] == "F", info

        # A C-core client reads the whole error even when the request breaks every rule at once: the answer is
        # INVALID_ARGUMENT (not RESOURCE_EXHAUSTED from over-size trailers), with a bounded violation list.
        try:
            payments.ListPayments(pay_pb.ListPaymentsRequest(statuses=[99] * 100), timeout=10)
            raise AssertionError("100 unknown statuses were accepted")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
            bad = details_of(error, error_details_pb2.BadRequest)
            assert 1 < len(bad.field_violations) <= 21, len(bad.field_violations)
        print("python wallet flow: OK")


if __name__ == "__main__":
    main()
