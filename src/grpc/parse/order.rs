//! The nested messages of a pay request (order, goods, buyer, shipping, merchant, store, address, env) parsed into
//! Alipay's wire model, every field against its documented limit.

use alipay::checked::Text;
use alipay::checked::{Money, RegionCode};
use alipay::limits::{
    MAX_ADDRESS_CITY_LEN, MAX_ADDRESS_LINE_LEN, MAX_ADDRESS_STATE_LEN, MAX_BUYER_ID_LEN,
    MAX_BUYER_PHONE_LEN, MAX_DEVICE_ID_LEN, MAX_EMAIL_LEN, MAX_FULL_NAME_LEN, MAX_GOODS,
    MAX_GOODS_BRAND_LEN, MAX_GOODS_CATEGORY_LEN, MAX_GOODS_ID_LEN, MAX_GOODS_NAME_LEN,
    MAX_GOODS_SKU_NAME_LEN, MAX_LANGUAGE_LEN, MAX_MERCHANT_DISPLAY_NAME_LEN, MAX_MERCHANT_ID_LEN,
    MAX_MERCHANT_NAME_LEN, MAX_NAME_PART_LEN, MAX_ORDER_DESCRIPTION_LEN, MAX_OS_VERSION_LEN,
    MAX_REFERENCE_ORDER_ID_LEN, MAX_SHIPPING_CARRIER_LEN, MAX_SHIPPING_PHONE_LEN, MAX_STORE_ID_LEN,
    MAX_URL_LEN, MAX_ZIP_CODE_LEN, MCC_LEN,
};
use alipay::model as wire;
use engine::limits::Violations;

use super::{money, os, terminal, text, timestamp};
use crate::pb::v1 as pb;

/// The order of a pay request. Without `order_amount` the payment amount is the order total (as the proto says).
/// `in_store` adds the merchant and store facts Alipay requires for an in-store payment.
pub(super) fn order(
    v: &mut Violations,
    o: &pb::Order,
    payment: Option<&Money>,
    in_store: bool,
) -> Option<wire::Order> {
    let reference_order_id = v.check(
        "order.reference_order_id",
        Text::<MAX_REFERENCE_ORDER_ID_LEN>::new(o.reference_order_id.as_str()),
    );
    let description = v.check(
        "order.order_description",
        Text::<MAX_ORDER_DESCRIPTION_LEN>::new(o.order_description.as_str()),
    );
    let order_amount = match &o.order_amount {
        Some(a) => money(v, "order.order_amount", Some(a)),
        None => payment.cloned(),
    };
    if o.goods.len() > MAX_GOODS {
        v.push("order.goods", format!("at most {MAX_GOODS} entries"));
    }
    let goods: Vec<_> = o
        .goods
        .iter()
        .enumerate()
        .map(|(i, g)| goods(v, &format!("order.goods[{i}]"), g))
        .collect();
    let buyer = o.buyer.as_ref().map(|b| wire::Buyer {
        reference_buyer_id: text::<MAX_BUYER_ID_LEN>(
            v,
            "order.buyer.reference_buyer_id",
            &b.reference_buyer_id,
        ),
        buyer_name: b
            .buyer_name
            .as_ref()
            .map(|n| name(v, "order.buyer.buyer_name", n)),
        buyer_phone_no: text::<MAX_BUYER_PHONE_LEN>(
            v,
            "order.buyer.buyer_phone_no",
            &b.buyer_phone_no,
        ),
        buyer_email: text::<MAX_EMAIL_LEN>(v, "order.buyer.buyer_email", &b.buyer_email),
    });
    let shipping = o.shipping.as_ref().map(|s| wire::Shipping {
        shipping_name: s
            .shipping_name
            .as_ref()
            .map(|n| name(v, "order.shipping.shipping_name", n)),
        shipping_address: s
            .shipping_address
            .as_ref()
            .and_then(|a| address(v, "order.shipping.shipping_address", a)),
        shipping_carrier: text::<MAX_SHIPPING_CARRIER_LEN>(
            v,
            "order.shipping.shipping_carrier",
            &s.shipping_carrier,
        ),
        shipping_phone_no: text::<MAX_SHIPPING_PHONE_LEN>(
            v,
            "order.shipping.shipping_phone_no",
            &s.shipping_phone_no,
        ),
        ship_to_email: text::<MAX_EMAIL_LEN>(v, "order.shipping.ship_to_email", &s.ship_to_email),
    });
    let merchant = match &o.merchant {
        None if in_store => {
            v.push("order.merchant", "is required for in-store payments");
            None
        }
        None => None,
        Some(m) => Some(merchant(v, m, in_store)),
    };
    let env = o.env.as_ref().and_then(|e| env(v, "order.env", e, false));
    let mut order = wire::Order::new(
        String::from(reference_order_id?),
        String::from(description?),
        order_amount?.to_wire(),
    );
    order.goods = (!goods.is_empty()).then_some(goods);
    order.buyer = buyer;
    order.shipping = shipping;
    order.merchant = merchant;
    order.env = env;
    Some(order)
}

fn goods(v: &mut Violations, prefix: &str, g: &pb::Goods) -> wire::Goods {
    let f = |name: &str| format!("{prefix}.{name}");
    // Brand and SKU name are checked for the contract's sake; Alipay's goods model has no place for them.
    text::<MAX_GOODS_BRAND_LEN>(v, &f("goods_brand"), &g.goods_brand);
    text::<MAX_GOODS_SKU_NAME_LEN>(v, &f("goods_sku_name"), &g.goods_sku_name);
    if g.goods_quantity < 0 {
        v.push(f("goods_quantity"), "must be at least 1 when set");
    }
    wire::Goods {
        reference_goods_id: text::<MAX_GOODS_ID_LEN>(
            v,
            &f("reference_goods_id"),
            &g.reference_goods_id,
        ),
        goods_name: text::<MAX_GOODS_NAME_LEN>(v, &f("goods_name"), &g.goods_name),
        goods_category: text::<MAX_GOODS_CATEGORY_LEN>(v, &f("goods_category"), &g.goods_category),
        goods_unit_amount: g
            .goods_unit_amount
            .as_ref()
            .and_then(|a| money(v, &f("goods_unit_amount"), Some(a)))
            .map(|m| m.to_wire()),
        goods_quantity: (g.goods_quantity > 0).then(|| g.goods_quantity.to_string()),
        goods_url: text::<MAX_URL_LEN>(v, &f("goods_url"), &g.goods_url),
    }
}

fn merchant(v: &mut Violations, m: &pb::Merchant, in_store: bool) -> wire::Merchant {
    let id_field = "order.merchant.reference_merchant_id";
    if in_store && m.reference_merchant_id.is_empty() {
        v.push(id_field, "is required");
    }
    // The display name is the contract's; Alipay's merchant model has no place for it.
    text::<MAX_MERCHANT_DISPLAY_NAME_LEN>(
        v,
        "order.merchant.merchant_display_name",
        &m.merchant_display_name,
    );
    let store = match &m.store {
        None if in_store => {
            v.push("order.merchant.store", "is required for in-store payments");
            None
        }
        None => None,
        Some(s) => {
            let id_field = "order.merchant.store.reference_store_id";
            if in_store && s.reference_store_id.is_empty() {
                v.push(id_field, "is required");
            }
            Some(wire::Store {
                reference_store_id: text::<MAX_STORE_ID_LEN>(v, id_field, &s.reference_store_id),
                store_name: text::<MAX_MERCHANT_NAME_LEN>(
                    v,
                    "order.merchant.store.store_name",
                    &s.store_name,
                ),
                store_mcc: mcc(v, "order.merchant.store.store_mcc", &s.store_mcc, in_store),
                store_address: s
                    .store_address
                    .as_ref()
                    .and_then(|a| address(v, "order.merchant.store.store_address", a)),
            })
        }
    };
    wire::Merchant {
        reference_merchant_id: text::<MAX_MERCHANT_ID_LEN>(v, id_field, &m.reference_merchant_id),
        merchant_mcc: mcc(v, "order.merchant.merchant_mcc", &m.merchant_mcc, in_store),
        merchant_name: text::<MAX_MERCHANT_NAME_LEN>(
            v,
            "order.merchant.merchant_name",
            &m.merchant_name,
        ),
        merchant_address: m
            .merchant_address
            .as_ref()
            .and_then(|a| address(v, "order.merchant.merchant_address", a)),
        store,
    }
}

/// A merchant category code (ISO 18245): four digits, required for in-store payments.
fn mcc(v: &mut Violations, field: &str, value: &str, required: bool) -> Option<String> {
    if value.is_empty() {
        if required {
            v.push(field, "is required for in-store payments");
        }
        return None;
    }
    if value.len() != MCC_LEN || !value.bytes().all(|b| b.is_ascii_digit()) {
        v.push(field, "must be 4 digits (ISO 18245)");
        return None;
    }
    Some(value.to_owned())
}

pub(super) fn name(v: &mut Violations, prefix: &str, n: &pb::Name) -> wire::UserName {
    let f = |part: &str| format!("{prefix}.{part}");
    wire::UserName {
        first_name: text::<MAX_NAME_PART_LEN>(v, &f("first_name"), &n.first_name),
        middle_name: text::<MAX_NAME_PART_LEN>(v, &f("middle_name"), &n.middle_name),
        last_name: text::<MAX_NAME_PART_LEN>(v, &f("last_name"), &n.last_name),
        full_name: text::<MAX_FULL_NAME_LEN>(v, &f("full_name"), &n.full_name),
    }
}

pub(super) fn address(v: &mut Violations, prefix: &str, a: &pb::Address) -> Option<wire::Address> {
    let f = |part: &str| format!("{prefix}.{part}");
    let region = v.check(f("region"), RegionCode::new(a.region.as_str()));
    let state = text::<MAX_ADDRESS_STATE_LEN>(v, &f("state"), &a.state);
    let city = text::<MAX_ADDRESS_CITY_LEN>(v, &f("city"), &a.city);
    let address1 = text::<MAX_ADDRESS_LINE_LEN>(v, &f("address1"), &a.address1);
    let address2 = text::<MAX_ADDRESS_LINE_LEN>(v, &f("address2"), &a.address2);
    let zip_code = text::<MAX_ZIP_CODE_LEN>(v, &f("zip_code"), &a.zip_code);
    Some(wire::Address {
        region: region?.into(),
        state,
        city,
        address1,
        address2,
        zip_code,
    })
}

/// A buyer environment at `prefix`. The terminal type is required when `terminal_required` (cashier); an env
/// without one elsewhere describes a web buyer, as it always has.
pub(super) fn env(
    v: &mut Violations,
    prefix: &str,
    e: &pb::Env,
    terminal_required: bool,
) -> Option<wire::Env> {
    let f = |name: &str| format!("{prefix}.{name}");
    let terminal_type = terminal(v, &f("terminal_type"), e.terminal_type, terminal_required);
    let mut env = wire::Env::new(wire::TerminalType::Web);
    env.os_type = os(v, &f("os_type"), e.os_type);
    env.os_version = text::<MAX_OS_VERSION_LEN>(v, &f("os_version"), &e.os_version);
    if !e.client_ip.is_empty() && e.client_ip.parse::<std::net::IpAddr>().is_err() {
        v.push(f("client_ip"), "must be an IPv4 or IPv6 address");
    }
    env.client_ip = (!e.client_ip.is_empty()).then(|| e.client_ip.clone());
    env.user_agent = text::<MAX_URL_LEN>(v, &f("user_agent"), &e.user_agent);
    env.device_id = text::<MAX_DEVICE_ID_LEN>(v, &f("device_id"), &e.device_id);
    env.device_token_id = text::<MAX_DEVICE_ID_LEN>(v, &f("device_token_id"), &e.device_token_id);
    env.device_language = text::<MAX_LANGUAGE_LEN>(v, &f("device_language"), &e.device_language);
    env.store_terminal_id =
        text::<MAX_DEVICE_ID_LEN>(v, &f("store_terminal_id"), &e.store_terminal_id);
    env.browser_info = e.browser_info.as_ref().map(|b| wire::BrowserInfo {
        accept_header: text::<MAX_URL_LEN>(v, &f("browser_info.accept_header"), &b.accept_header),
        java_enabled: Some(b.java_enabled),
        java_script_enabled: Some(b.java_script_enabled),
        language: text::<MAX_LANGUAGE_LEN>(v, &f("browser_info.language"), &b.language),
        user_agent: text::<MAX_URL_LEN>(v, &f("browser_info.user_agent"), &b.user_agent),
    });
    let mut count = |name: &str, value: i32| {
        if value < 0 {
            v.push(f(name), "must not be negative");
        }
        (value != 0).then(|| value.to_string())
    };
    env.color_depth = count("color_depth", e.color_depth);
    env.screen_height = count("screen_height", e.screen_height);
    env.screen_width = count("screen_width", e.screen_width);
    env.time_zone_offset = (e.time_zone_offset != 0).then(|| e.time_zone_offset.to_string());
    env.store_terminal_request_time = e
        .store_terminal_request_time
        .as_ref()
        .and_then(|t| timestamp(v, &f("store_terminal_request_time"), t))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string());
    env.terminal_type = terminal_type.ok()?.unwrap_or(wire::TerminalType::Web);
    Some(env)
}
