"""A Python team's card integration against a running alipay-gateway (sandbox upstream): AuthorizeCard approved,
declined (an answer, not an error: the FAIL payment with Alipay's code and the issuer's refusal code), challenged
(PROCESSING with the 3DS redirect), and a bad card number refused with INVALID_ARGUMENT and a BadRequest field
violation that does not quote the number. Stubs are generated from proto/ at run time, as docs/clients.md shows.

Usage: python card_flow.py GATEWAY_ADDR PROTO_DIR
Exits non-zero (with an assertion message) on any deviation.
"""

import sys
import tempfile
import uuid

from grpc_client import details_of, generate


def main():
    target, proto_dir = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as out_dir:
        generate(proto_dir, out_dir)
        import grpc
        from alipay.gateway.v1 import card_pb2, card_pb2_grpc
        from alipay.gateway.v1 import common_pb2 as common
        from google.rpc import error_details_pb2

        cards = card_pb2_grpc.CardServiceStub(grpc.insecure_channel(target))

        def authorize(number, three_ds=False):
            return card_pb2.AuthorizeCardRequest(
                payment_request_id="py-card-" + uuid.uuid4().hex,
                payment_amount=common.Amount(currency="PHP", value=1000),
                order=common.Order(reference_order_id="py-card-order", order_description="Python card order"),
                card=common.CardDetails(card_no=number, cvv="123", expiry_month="12", expiry_year="39"),
                env=common.Env(terminal_type=common.TERMINAL_TYPE_WEB, client_ip="203.0.113.7"),
                payment_redirect_url="https://merchant.example/card-return",
                three_ds=card_pb2.ThreeDSOptions(is_3ds_authentication=three_ds),
            )

        approved = cards.AuthorizeCard(authorize("4111111111111111"), timeout=30).card_payment
        assert approved.payment.status == common.PAYMENT_STATUS_SUCCESS, approved
        assert (approved.payment.card.card_brand, approved.payment.card.last_four) == ("VISA", "1111"), approved
        assert approved.authorization_code, approved

        declined = cards.AuthorizeCard(authorize("4000000000000002"), timeout=30).card_payment
        assert declined.payment.status == common.PAYMENT_STATUS_FAIL, declined
        assert declined.payment.last_alipay_result.result_code == "DO_NOT_HONOR", declined
        assert declined.refusal_code_raw == "05", declined

        challenged = cards.AuthorizeCard(authorize("4000000000003063", three_ds=True), timeout=30).card_payment
        assert challenged.payment.status == common.PAYMENT_STATUS_PROCESSING, challenged
        redirect = challenged.payment.next_action.redirect
        assert (redirect.normal_url or redirect.url).startswith("http"), challenged
        again = cards.GetCardPayment(
            card_pb2.GetCardPaymentRequest(payment_request_id=challenged.payment.payment_request_id), timeout=10)
        assert again.card_payment.payment.status == common.PAYMENT_STATUS_PROCESSING, again

        bad_number = "4111111111111112"
        try:
            cards.AuthorizeCard(authorize(bad_number), timeout=10)
            raise AssertionError("a card number failing Luhn was accepted")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
            bad = details_of(error, error_details_pb2.BadRequest)
            assert "card.card_no" in {v.field for v in bad.field_violations}, bad
            assert bad_number not in str(bad) and bad_number not in (error.details() or ""), bad
        print("python card flow: OK")


if __name__ == "__main__":
    main()
