//! Stored cards (`card_tokens`) and payments' card facts (`payment_card_facts`).

use crate::bindings::cipher;
use crate::common::{each_backend, inquire_at, new_payment};
use chrono::{Duration, Utc};
use proptest::prelude::*;
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement};
use store::card_facts::{CardFacts, CardIdentity, PaymentCardFacts};
use store::card_tokens::{CardTokens, NewCardToken, Recorded};
use store::{PageRequest, Secret, Store, StoreError};

fn report(customer: &str, token: &str, request: &str) -> NewCardToken {
    NewCardToken {
        customer_id: customer.into(),
        token: Secret::new(token),
        card: CardIdentity::default(),
        network_transaction_id: None,
        payment_request_id: request.into(),
        payment_created_at: Utc::now() - Duration::minutes(1),
    }
}

fn live(recorded: Recorded) -> store::card_tokens::CardToken {
    match recorded {
        Recorded::Live(token) => *token,
        Recorded::Deleted { id } => panic!("card {id} unexpectedly deleted"),
    }
}

#[tokio::test]
async fn two_sources_merge_into_one_card_without_erasing() {
    each_backend(|store| async move {
        let c = cipher(1);
        let cards = CardTokens::new(&store, &c);
        let pay_answer = NewCardToken {
            card: CardIdentity {
                brand: Some("VISA".into()),
                last_four: Some("1111".into()),
                ..CardIdentity::default()
            },
            ..report("C1", "CT-merge-1", "REQ-A")
        };
        let first = live(cards.record(pay_answer.clone()).await?);
        assert_eq!(first.token.expose(), "CT-merge-1");
        assert_eq!(first.card.expiry_month, None);

        let notification = NewCardToken {
            card: CardIdentity {
                brand: Some("MASTERCARD".into()),
                last_four: Some(String::new()),
                expiry_month: Some("12".into()),
                expiry_year: Some("30".into()),
                funding: Some("CREDIT".into()),
                issuing_country: Some("US".into()),
            },
            network_transaction_id: Some("NTI-1".into()),
            ..report("C1", "CT-merge-1", "REQ-B")
        };
        let merged = live(cards.record(notification.clone()).await?);
        assert_eq!(merged.id, first.id, "one card per customer and token");
        assert_eq!(
            merged.card.brand.as_deref(),
            Some("VISA"),
            "never rewritten"
        );
        assert_eq!(
            merged.card.last_four.as_deref(),
            Some("1111"),
            "never erased"
        );
        assert_eq!(merged.card.expiry_month.as_deref(), Some("12"), "filled");
        assert_eq!(merged.card.expiry_year.as_deref(), Some("30"));
        assert_eq!(merged.card.issuing_country.as_deref(), Some("US"));
        assert_eq!(merged.network_transaction_id.as_deref(), Some("NTI-1"));
        assert_eq!(merged.first_payment_request_id, "REQ-A");
        assert!(merged.updated_at >= first.updated_at);

        // The same reports again change nothing, not even the update time.
        let again = live(cards.record(notification).await?);
        assert_eq!(again, merged);
        assert_eq!(live(cards.record(pay_answer).await?), merged);
        assert_eq!(cards.get("C1", &merged.id).await?, Some(merged.clone()));
        assert_eq!(
            cards.find_by_token("C1", "CT-merge-1").await?,
            Some(merged.clone())
        );
        assert_eq!(cards.find_by_token("C1", "CT-other").await?, None);

        let too_long = report("C1", &"x".repeat(2049), "REQ-C");
        assert!(matches!(
            cards.record(too_long).await,
            Err(StoreError::Invalid {
                field: "card_token",
                ..
            })
        ));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_token_is_unique_per_customer_and_separate_between_customers() {
    each_backend(|store| async move {
        let c = cipher(2);
        let mut tasks = Vec::new();
        for n in 0..10 {
            let (store, c) = (store.clone(), c.clone());
            tasks.push(tokio::spawn(async move {
                CardTokens::new(&store, &c)
                    .record(report("C1", "CT-shared", &format!("REQ-{n}")))
                    .await
            }));
        }
        let mut ids = std::collections::HashSet::new();
        for task in tasks {
            ids.insert(task.await.expect("join")?.id().to_owned());
        }
        assert_eq!(ids.len(), 1, "concurrent reports make one row");

        let cards = CardTokens::new(&store, &c);
        let other = live(cards.record(report("C2", "CT-shared", "REQ-X")).await?);
        let mine = cards.find_by_token("C1", "CT-shared").await?.expect("C1's");
        assert_ne!(other.id, mine.id, "another customer's card is another row");
        assert_eq!(
            store::entity::card_token::Entity::find()
                .all(store.connection())
                .await?
                .len(),
            2
        );
        assert_eq!(cards.get("C2", &mine.id).await?, None, "not C2's card");
        assert_eq!(cards.get("C1", &other.id).await?, None, "not C1's card");
        assert!(!mine.id.contains("CT-shared"), "ids are opaque");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn cards_list_newest_first_with_page_tokens_bound_to_the_customer() {
    each_backend(|store| async move {
        let c = cipher(3);
        let cards = CardTokens::new(&store, &c);
        let mut ids = Vec::new();
        for n in 0..5 {
            let card = live(
                cards
                    .record(report("C1", &format!("CT-list-{n}"), &format!("R{n}")))
                    .await?,
            );
            ids.push(card.id);
        }
        cards.record(report("C2", "CT-list-c2", "R9")).await?;
        ids.reverse();

        let mut seen = Vec::new();
        let mut request = PageRequest {
            page_size: store::PageSize::new(2).expect("page size"),
            page_token: None,
        };
        loop {
            let page = cards.list("C1", &request).await?;
            assert!(page.items.len() <= 2);
            seen.extend(page.items.into_iter().map(|card| card.id));
            match page.next_page_token {
                Some(token) => {
                    if seen.len() == 2 {
                        let stolen = PageRequest {
                            page_size: store::PageSize::new(2).expect("page size"),
                            page_token: Some(token.clone()),
                        };
                        assert!(matches!(
                            cards.list("C2", &stolen).await,
                            Err(StoreError::InvalidPageToken)
                        ));
                    }
                    request.page_token = Some(token);
                }
                None => break,
            }
        }
        assert_eq!(seen, ids, "newest first, every card once");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn delete_is_idempotent_hides_the_card_and_erases_its_token() {
    each_backend(|store| async move {
        let c = cipher(4);
        let cards = CardTokens::new(&store, &c);
        let card = live(cards.record(report("C1", "CT-del", "R1")).await?);
        assert!(!cards.delete("C2", &card.id).await?, "another customer's");
        assert!(cards.get("C1", &card.id).await?.is_some());

        assert!(cards.delete("C1", &card.id).await?);
        assert!(!cards.delete("C1", &card.id).await?, "idempotent");
        assert!(!cards.delete("C1", "no-such-card").await?);
        assert_eq!(cards.get("C1", &card.id).await?, None);
        assert_eq!(cards.find_by_token("C1", "CT-del").await?, None);
        assert!(
            cards
                .list("C1", &PageRequest::default())
                .await?
                .items
                .is_empty()
        );
        let row = store::entity::card_token::Entity::find_by_id(card.id.clone())
            .one(store.connection())
            .await?
            .expect("tombstone kept");
        assert_eq!(row.token_enc, None, "the sealed token is erased");
        assert!(row.deleted_at.is_some());

        // A late report of a payment older than the delete does not bring the card back...
        let late = report("C1", "CT-del", "R1");
        assert_eq!(
            cards.record(late).await?,
            Recorded::Deleted {
                id: card.id.clone()
            }
        );
        assert_eq!(cards.find_by_token("C1", "CT-del").await?, None);
        // ...a payment started after it saves the card again.
        let saved_again = NewCardToken {
            payment_created_at: Utc::now() + Duration::seconds(1),
            ..report("C1", "CT-del", "R2")
        };
        let revived = live(cards.record(saved_again).await?);
        assert_eq!(revived.id, card.id);
        assert_eq!(revived.first_payment_request_id, "R2");
        assert_eq!(cards.find_by_token("C1", "CT-del").await?, Some(revived));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn card_facts_merge_from_sources_and_link_the_card() {
    each_backend(|store| async move {
        let c = cipher(5);
        let p = store
            .payments()
            .insert_intent(new_payment(1), inquire_at())
            .await?
            .into_inner();
        let facts = PaymentCardFacts::new(&store);
        assert_eq!(facts.get(&p.id).await?, None);

        let pay_answer = CardFacts {
            card: CardIdentity {
                brand: Some("VISA".into()),
                last_four: Some("1111".into()),
                ..CardIdentity::default()
            },
            three_ds_offered: Some(true),
            eci: Some(String::new()),
            ..CardFacts::default()
        };
        let first = facts.merge(&p.id, pay_answer).await?;
        assert_eq!(first.eci, None, "blank is no fact");

        let card = live(
            CardTokens::new(&store, &c)
                .record(report("CUST-1", "CT-facts", &p.payment_request_id))
                .await?,
        );
        let notification = CardFacts {
            card: CardIdentity {
                brand: Some("AMEX".into()),
                ..CardIdentity::default()
            },
            eci: Some("05".into()),
            challenged: Some(true),
            challenge_cancel_code: Some("01".into()),
            avs_result_raw: Some("Y".into()),
            cvv_result_raw: Some("M".into()),
            refusal_code_raw: Some("05".into()),
            network_transaction_id: Some("N".repeat(256)),
            three_ds_offered: Some(false),
            card_token_id: Some(card.id.clone()),
            ..CardFacts::default()
        };
        let merged = facts.merge(&p.id, notification).await?;
        assert_eq!(merged.card.brand.as_deref(), Some("VISA"));
        assert_eq!(merged.card.last_four.as_deref(), Some("1111"));
        assert_eq!(merged.three_ds_offered, Some(true), "never rewritten");
        assert_eq!(merged.eci.as_deref(), Some("05"));
        assert_eq!(merged.challenged, Some(true));
        assert_eq!(merged.card_token_id.as_deref(), Some(card.id.as_str()));
        assert_eq!(merged.network_transaction_id.map(|n| n.len()), Some(256));
        assert_eq!(
            facts.get(&p.id).await?,
            Some(facts.merge(&p.id, CardFacts::default()).await?)
        );

        assert!(matches!(
            facts.merge("no-such-payment", CardFacts::default()).await,
            Err(StoreError::UnknownPayment(_))
        ));
        let bad_link = CardFacts {
            card_token_id: Some("no-such-card".into()),
            ..CardFacts::default()
        };
        assert!(matches!(
            facts.merge(&p.id, bad_link).await,
            Err(StoreError::Invalid {
                field: "card_token_id",
                ..
            })
        ));
        let too_long = CardFacts {
            network_transaction_id: Some("N".repeat(257)),
            ..CardFacts::default()
        };
        assert!(matches!(
            facts.merge(&p.id, too_long).await,
            Err(StoreError::Invalid { .. })
        ));
        Ok(())
    })
    .await;
}

/// Every stored byte of the database, as text: the SQLite file and its WAL after a checkpoint, or on PostgreSQL
/// every row of every table of the test's schema as JSON (what `pg_dump` would print).
async fn dump(store: &Store) -> Result<String, StoreError> {
    let db = store.connection();
    if store.backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT file FROM pragma_database_list WHERE name = 'main'",
            ))
            .await?
            .expect("main database");
        let file: String = row.try_get_by_index(0)?;
        let mut bytes = std::fs::read(&file).expect("database file");
        bytes.extend(std::fs::read(format!("{file}-wal")).unwrap_or_default());
        assert!(bytes.len() > 4096, "read the real file");
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    let tables = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
        ))
        .await?;
    let mut text = String::new();
    for table in tables {
        let name: String = table.try_get_by_index(0)?;
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT row_to_json(t)::text FROM \"{name}\" t"),
            ))
            .await?;
        for row in rows {
            text.push_str(&row.try_get_by_index::<String>(0)?);
            text.push('\n');
        }
    }
    assert!(
        text.contains("card_tokens") || text.contains("token_hash"),
        "dumped the card rows"
    );
    Ok(text)
}

#[tokio::test]
async fn plaintext_tokens_never_reach_the_database() {
    each_backend(|store| async move {
        let c = cipher(6);
        let cards = CardTokens::new(&store, &c);
        let token = format!("CT-PLAINTEXT-{}", uuid::Uuid::new_v4().simple());
        let p = store
            .payments()
            .insert_intent(new_payment(2), inquire_at())
            .await?
            .into_inner();
        let card = live(
            cards
                .record(report("CUST-1", &token, &p.payment_request_id))
                .await?,
        );
        cards.record(report("C2", &token, "REQ-2")).await?;
        let link = CardFacts {
            card_token_id: Some(card.id.clone()),
            ..CardFacts::default()
        };
        PaymentCardFacts::new(&store).merge(&p.id, link).await?;

        let dumped = dump(&store).await?;
        assert!(dumped.contains(&card.id), "the dump holds the card's row");
        assert!(!dumped.contains(&token), "plaintext cardToken at rest");
        assert!(!dumped.contains(&token[3..]), "no part of the token's tail");
        assert!(
            !format!("{card:?}").contains(&token),
            "Debug redacts the token"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn plain_payment_tokens_of_the_old_schema_are_sealed_and_cleared() {
    each_backend(|store| async move {
        let c = cipher(7);
        let payments = store.payments();
        let owned = payments
            .insert_intent(new_payment(3), inquire_at())
            .await?
            .into_inner();
        let anonymous = payments
            .insert_intent(new_payment(4), inquire_at())
            .await?
            .into_inner();
        let db = store.connection();
        // The rows as the first schema left them: a plain token (and a card brand) in `payments`.
        db.execute_unprepared(&format!(
            "UPDATE payments SET card_token = 'CT-LEGACY-1', card_brand = 'VISA' WHERE id = '{}'",
            owned.id
        ))
        .await?;
        db.execute_unprepared(&format!(
            "UPDATE payments SET card_token = 'CT-LEGACY-2', customer_id = NULL WHERE id = '{}'",
            anonymous.id
        ))
        .await?;

        let cards = CardTokens::new(&store, &c);
        assert_eq!(cards.seal_plain_payment_tokens().await?, 2);
        assert_eq!(cards.seal_plain_payment_tokens().await?, 0, "idempotent");

        let left = db
            .query_one_raw(Statement::from_string(
                store.backend(),
                "SELECT COUNT(*) FROM payments WHERE card_token IS NOT NULL",
            ))
            .await?
            .expect("count");
        assert_eq!(left.try_get_by_index::<i64>(0)?, 0, "plain column cleared");

        let card = cards
            .find_by_token("CUST-1", "CT-LEGACY-1")
            .await?
            .expect("moved under the payment's customer");
        assert_eq!(card.card.brand.as_deref(), Some("VISA"));
        assert_eq!(card.first_payment_request_id, owned.payment_request_id);
        let facts = PaymentCardFacts::new(&store)
            .get(&owned.id)
            .await?
            .expect("facts");
        assert_eq!(facts.card_token_id, Some(card.id));
        let rows = store::entity::card_token::Entity::find().all(db).await?;
        assert_eq!(rows.len(), 1, "a token without a customer is only erased");
        assert_ne!(rows[0].token_enc.as_deref(), Some("CT-LEGACY-1"));
        Ok(())
    })
    .await;
}

/// Every fact of `f` as text, in a fixed order (booleans as "true"/"false").
fn fields(f: &CardFacts) -> Vec<Option<String>> {
    let text = [
        &f.card.brand,
        &f.card.last_four,
        &f.card.expiry_month,
        &f.card.expiry_year,
        &f.card.funding,
        &f.card.issuing_country,
        &f.issuer_name,
        &f.three_ds_version,
        &f.eci,
        &f.challenge_cancel_code,
        &f.exemption_type,
        &f.avs_result_raw,
        &f.cvv_result_raw,
        &f.network_transaction_id,
        &f.authorization_code,
        &f.refusal_code_raw,
        &f.refusal_reason_raw,
        &f.merchant_advice_code,
        &f.card_token_id,
    ];
    let flags = [f.challenged, f.three_ds_offered];
    text.into_iter()
        .cloned()
        .chain(flags.into_iter().map(|b| b.map(|b| b.to_string())))
        .collect()
}

fn facts_strategy() -> impl Strategy<Value = CardFacts> {
    let text = || proptest::option::of("[ab]{0,2}");
    (
        proptest::collection::vec(text(), 19),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(t, challenged, three_ds_offered)| {
            let mut t = t.into_iter();
            let mut next = || t.next().flatten();
            CardFacts {
                card: CardIdentity {
                    brand: next(),
                    last_four: next(),
                    expiry_month: next(),
                    expiry_year: next(),
                    funding: next(),
                    issuing_country: next(),
                },
                issuer_name: next(),
                three_ds_version: next(),
                eci: next(),
                challenge_cancel_code: next(),
                exemption_type: next(),
                avs_result_raw: next(),
                cvv_result_raw: next(),
                network_transaction_id: next(),
                authorization_code: next(),
                refusal_code_raw: next(),
                refusal_reason_raw: next(),
                merchant_advice_code: next(),
                card_token_id: next(),
                challenged,
                three_ds_offered,
            }
        })
}

proptest! {
    /// Whatever the sources and their order, each fact ends as the first non-blank value reported, and no merge
    /// ever changes or erases a fact already known.
    #[test]
    fn facts_merging_is_monotonic(sources in proptest::collection::vec(facts_strategy(), 1..5)) {
        let mut merged = CardFacts::default();
        let mut known: Vec<Option<String>> = vec![None; fields(&merged).len()];
        for source in &sources {
            let before = fields(&merged);
            merged = merged.merge(source.clone());
            let after = fields(&merged);
            for (i, (b, a)) in before.iter().zip(&after).enumerate() {
                if b.is_some() {
                    prop_assert_eq!(b, a, "fact {} changed", i);
                }
                prop_assert!(a.as_deref() != Some(""), "blank kept as a fact");
            }
            for (slot, value) in known.iter_mut().zip(fields(source)) {
                if slot.is_none() {
                    *slot = value.filter(|v| !v.is_empty());
                }
            }
        }
        prop_assert_eq!(fields(&merged), known);
        prop_assert_eq!(merged.clone().merge(merged.clone()), merged.clone());
    }
}

/// A card report joins its payment's move: the facts, the stored card and, for an approved MANUAL authorization only,
/// the planned void's job commit with the status. A report for a wallet payment changes nothing, and a move the
/// store refuses takes its report down with it.
#[tokio::test]
async fn a_card_report_commits_with_its_move_and_plans_only_a_manual_approvals_void() {
    use store::card_facts::{CardReport, PlannedVoid};
    use store::card_tokens::SealedCardToken;
    use store::jobs::JobKind;
    use store::payments::PaymentUpdate;
    use store::{CaptureMode, PaymentStatus, Transition, Wallet};

    each_backend(|store| async move {
        let c = cipher(7);
        let report = |token: &str| -> Result<PaymentUpdate, StoreError> {
            Ok(PaymentUpdate {
                card: Some(Box::new(CardReport {
                    facts: CardFacts {
                        avs_result_raw: Some("N".into()),
                        ..CardFacts::default()
                    },
                    token: Some(SealedCardToken::seal(&c, &Secret::new(token))?),
                    stored_card: None,
                    void: Some(PlannedVoid {
                        reason: "AVS_REJECTED".into(),
                        run_at: inquire_at(),
                    }),
                })),
                ..PaymentUpdate::default()
            })
        };
        // (payment method, capture mode, status reached, card recorded, void planned)
        let rows = [
            (
                Wallet::Card,
                Some(CaptureMode::Manual),
                PaymentStatus::Success,
                true,
                true,
            ),
            (
                Wallet::Card,
                Some(CaptureMode::Automatic),
                PaymentStatus::Success,
                true,
                false,
            ),
            (
                Wallet::Card,
                Some(CaptureMode::Manual),
                PaymentStatus::Processing,
                true,
                false,
            ),
            (
                Wallet::Gcash,
                Some(CaptureMode::Manual),
                PaymentStatus::Success,
                false,
                false,
            ),
        ];
        for (n, (method, mode, to, recorded, planned)) in (70..).zip(rows) {
            let row = format!("row {n}: {method:?} {mode:?} {to:?}");
            let mut new = new_payment(n);
            new.payment_method_type = method;
            new.capture_mode = mode;
            new.is_authorization = true;
            new.customer_id = Some(format!("CUST-{n}"));
            let p = store
                .payments()
                .insert_intent(new, inquire_at())
                .await?
                .into_inner();
            let token = format!("CT-report-{n}");
            store
                .payments()
                .transition(
                    &p.id,
                    p.version,
                    Transition::new(to, "pay_response"),
                    report(&token)?,
                )
                .await?;
            let facts = PaymentCardFacts::new(&store).get(&p.id).await?;
            assert_eq!(facts.is_some(), recorded, "{row}");
            let stored = CardTokens::new(&store, &c)
                .find_by_token(&format!("CUST-{n}"), &token)
                .await?;
            assert_eq!(stored.is_some(), recorded, "{row}");
            if let (Some(facts), Some(stored)) = (facts, stored) {
                assert_eq!(facts.avs_result_raw.as_deref(), Some("N"), "{row}");
                assert_eq!(facts.card_token_id, Some(stored.id), "{row}");
            }
            let void = store.jobs().find_active(JobKind::VoidCard, &p.id).await?;
            assert_eq!(void.is_some(), planned, "{row}");
            if let Some(job) = void {
                assert_eq!(job.payload["reason"], "AVS_REJECTED", "{row}");
            }
        }

        // A move the store refuses (a stale version) leaves no card behind either.
        let mut new = new_payment(80);
        new.payment_method_type = Wallet::Card;
        let p = store
            .payments()
            .insert_intent(new, inquire_at())
            .await?
            .into_inner();
        let refused = store
            .payments()
            .transition(
                &p.id,
                p.version + 7,
                Transition::new(PaymentStatus::Success, "pay_response"),
                report("CT-refused")?,
            )
            .await;
        assert!(
            matches!(refused, Err(StoreError::VersionConflict { .. })),
            "{refused:?}"
        );
        assert_eq!(PaymentCardFacts::new(&store).get(&p.id).await?, None);
        assert!(
            CardTokens::new(&store, &c)
                .find_by_token("CUST-1", "CT-refused")
                .await?
                .is_none()
        );
        Ok(())
    })
    .await;
}
