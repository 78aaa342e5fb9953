-- The pw_* contract views pitwatch reads (docs/contract-views.md), over Lagoon's schema
-- (schema.sql), for the products of operator.toml: core, casino, affiliates, kyc. No
-- sportsbook, no outbox: those collectors switch themselves off. Views mode's views and
-- columns (`pitwatch collect serve --views-mode`, README.md "Views mode") are here too:
-- pw_players, pw_postback_attempts, the casino views, pw_deposits.geo/brand/method/
-- updated_at, pw_withdrawals.updated_at, pw_conversions.created_at, pw_postbacks.created_at.
--
-- The views go in a schema of their own, so that pitwatch's read-only login sees them and
-- nothing else. Create them with that schema first on the search_path and Lagoon's next:
--   psql "$ADMIN_URL" -c 'CREATE SCHEMA pitwatch_views'
--   PGOPTIONS='-c search_path=pitwatch_views,lagoon' psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -f views.sql
-- (PostgreSQL resolves the table names once, when a view is created.)
--
-- The mappings:
-- - money: numeric major units -> bigint minor units, round(amount * 100)::bigint (every
--   Lagoon currency, EUR CZK NZD, has two decimals; a JPY would be * 1, a BHD * 1000);
-- - times: Lagoon's naive UTC timestamps -> timestamptz, `x AT TIME ZONE 'UTC'`;
-- - status words -> the documented sets (CASE ... END; an unknown word passes through, and
--   `pitwatch contract check` reports it);
-- - journal lines -> signed amounts: amount_minor = credit - debit. Every account's
--   pitwatch amount is "credit raises it": a player's wallet (credit-normal) as it is; the
--   PSP receivable (debit-normal: what the PSP owes) negated, which is exactly pitwatch's
--   PSP clearing account (negative while the PSP owes; a deposit approval posts -amount
--   on it). So pw_balances negates the stored balance of debit-normal accounts.
-- - ids: Lagoon's own, unchanged (text or integer both do), so that pitwatch's joins on
--   them (pw_postbacks.conversion_id = pw_conversions.conversion_id) use Lagoon's indexes;
--   an id computed in the view ('ref-' || id) would not.
--
-- Indexes: pitwatch's filters apply to the views' expressions (the CASE's status, the
-- AT TIME ZONE's time), which Lagoon's plain indexes on state and opened_at do not serve:
-- the stale-deposit query scans payins. Fine for this example; on a large table add
-- indexes on the expressions, e.g. CREATE INDEX ON payins ((opened_at AT TIME ZONE 'UTC'))
-- (checked with EXPLAIN: the planner then uses it), and check the plans of the state
-- collectors' queries (docs/state-metrics.md). Views mode reads in watermark order, e.g.
-- pw_deposits by (updated_at, deposit_id): CREATE INDEX ON payins ((state_at AT TIME ZONE
-- 'UTC'), ref) (checked with EXPLAIN on 200,000 payins: an index scan), and likewise for
-- each view it reads (docs/contract-views.md); keep those columns plain expressions of one
-- column (pw_casino_rounds.ended_at is spins.finished, NULL while a spin is LIVE, not a
-- CASE), or no index can serve them.

-- Registrations; a referred customer's partner and campaign are its SIGNUP referral's.
CREATE VIEW pw_players AS
SELECT c.handle AS player_id,
       c.country::text AS geo,
       c.currency::text AS currency,
       c.brand,
       s.partner AS affiliate,
       s.campaign,
       c.created AT TIME ZONE 'UTC' AS registered_at
FROM customers c
LEFT JOIN LATERAL (
    SELECT r.partner, r.campaign FROM referrals r
    WHERE r.customer_id = c.id AND r.kind = 'SIGNUP'
    ORDER BY r.id LIMIT 1
) s ON true;

-- geo and brand: the customer's, by scalar subqueries (not a join: the view stays over
-- payins alone, a simple view, as before them).
CREATE VIEW pw_deposits AS
SELECT p.ref AS deposit_id,
       (SELECT c.country::text FROM customers c WHERE c.id = p.customer_id) AS geo,
       (SELECT c.brand FROM customers c WHERE c.id = p.customer_id) AS brand,
       p.gateway AS psp,
       CASE p.instrument
           WHEN 'CARD' THEN 'card'
           WHEN 'MBWAY' THEN 'mbway'
           WHEN 'POLI' THEN 'poli'
           ELSE lower(p.instrument) END AS method,
       p.gateway_ref AS psp_reference,
       p.currency::text AS currency,
       round(p.amount * 100)::bigint AS amount_minor,
       CASE p.state
           WHEN 'NEW' THEN 'initiated'
           WHEN 'WAIT' THEN 'pending'
           WHEN 'OK' THEN 'approved'
           WHEN 'KO' THEN 'declined'
           WHEN 'ERR' THEN 'failed'
           WHEN 'CB' THEN 'chargeback'
           WHEN 'CBR' THEN 'chargeback_reversed'
           WHEN 'RFD' THEN 'refunded'
           ELSE p.state END AS status,
       p.opened_at AT TIME ZONE 'UTC' AS created_at,
       p.state_at AT TIME ZONE 'UTC' AS updated_at,
       CASE WHEN p.state IN ('OK', 'CB', 'CBR', 'RFD')
            THEN p.closed_at AT TIME ZONE 'UTC' END AS completed_at
FROM payins p;

CREATE VIEW pw_withdrawals AS
SELECT w.ref AS withdrawal_id,
       w.gateway AS psp,
       w.gateway_ref AS psp_reference,
       w.currency::text AS currency,
       round(w.amount * 100)::bigint AS amount_minor,
       CASE w.state
           WHEN 'QUEUED' THEN 'requested'
           WHEN 'SENT' THEN 'processing'
           WHEN 'PAID' THEN 'completed'
           WHEN 'REJECTED' THEN 'failed'
           ELSE w.state END AS status,
       w.opened_at AT TIME ZONE 'UTC' AS created_at,
       w.state_at AT TIME ZONE 'UTC' AS updated_at,
       CASE WHEN w.state = 'PAID' THEN w.closed_at AT TIME ZONE 'UTC' END AS completed_at
FROM payouts w;

CREATE VIEW pw_wallet_transactions AS
SELECT t.posting_ref AS transaction_id,
       CASE t.kind
           WHEN 'PAYIN' THEN 'deposit'
           WHEN 'PAYOUT_HOLD' THEN 'withdrawal'
           WHEN 'PAYOUT' THEN 'withdrawal'
           WHEN 'WAGER' THEN 'bet'
           WHEN 'WIN' THEN 'win'
           WHEN 'UNDO' THEN 'rollback'
           WHEN 'CORRECTION' THEN 'adjustment'
           WHEN 'CHARGEBACK' THEN 'chargeback'
           WHEN 'REVERSAL' THEN 'reversal'
           ELSE lower(t.kind) END AS type,
       c.handle AS player_id,
       t.ref AS reference,
       t.flagged
FROM postings t
LEFT JOIN customers c ON c.id = t.customer_id;

-- The kind and owner of each wallet, as pitwatch names them.
CREATE VIEW lagoon_accounts AS
SELECT w.id AS account_id,
       coalesce(c.handle, 'house') AS account_owner,
       CASE w.kind
           WHEN 'MAIN' THEN 'cash'
           WHEN 'BONUS' THEN 'bonus'
           WHEN 'HOLD' THEN 'withdrawal_pending'
           WHEN 'PSP' THEN 'psp_clearing'
           WHEN 'GAME' THEN 'casino'
           WHEN 'FEES' THEN 'fees'
           WHEN 'ADJ' THEN 'adjustments'
           ELSE lower(w.kind) END AS account_kind,
       CASE WHEN w.kind = 'PSP' THEN w.gateway END AS psp,
       w.currency::text AS currency,
       w.normal_side,
       w.balance
FROM wallets w
LEFT JOIN customers c ON c.id = w.customer_id;

CREATE VIEW pw_ledger_entries AS
SELECT j.line_id AS entry_id,
       t.posting_ref AS transaction_id,
       a.account_id,
       a.account_owner,
       a.account_kind,
       a.psp,
       a.currency,
       round((j.credit - j.debit) * 100)::bigint AS amount_minor,
       j.booked_at AT TIME ZONE 'UTC' AS created_at
FROM journal j
JOIN postings t ON t.id = j.posting_id
JOIN lagoon_accounts a ON a.account_id = j.wallet_id;

CREATE VIEW pw_balances AS
SELECT a.account_id,
       a.account_owner,
       a.account_kind,
       a.psp,
       a.currency,
       (CASE a.normal_side WHEN 'D' THEN -1 ELSE 1 END * round(a.balance * 100))::bigint
           AS balance_minor
FROM lagoon_accounts a;

CREATE VIEW pw_callbacks AS
SELECT n.id::bigint AS callback_id,
       n.gateway AS psp,
       n.gateway_state AS status,
       CASE n.result
           WHEN 'APPLIED' THEN 'applied'
           WHEN 'DUP' THEN 'duplicate'
           WHEN 'LATE' THEN 'out_of_order'
           WHEN 'UNKNOWN_REF' THEN 'orphan'
           WHEN 'BAD_AMOUNT' THEN 'amount_mismatch'
           WHEN 'BAD_SIG' THEN 'bad_signature'
           WHEN 'BAD' THEN 'invalid'
           ELSE 'ignored' END AS outcome,
       n.event_key AS event_id,
       n.merchant_ref AS merchant_reference,
       n.gateway_ref AS psp_reference,
       n.currency::text AS currency,
       round(n.amount * 100)::bigint AS amount_minor,
       n.occurred AT TIME ZONE 'UTC' AS occurred_at,
       n.received AT TIME ZONE 'UTC' AS received_at
FROM gateway_notifications n;

CREATE VIEW pw_kyc_checks AS
SELECT CASE k.outcome
           WHEN 'WAITING' THEN 'pending'
           WHEN 'VENDOR_DOWN' THEN 'provider_unavailable'
           WHEN 'REVIEW' THEN 'manual_review'
           WHEN 'PASS' THEN 'approved'
           WHEN 'FAIL' THEN 'rejected'
           ELSE lower(k.outcome) END AS status,
       k.asked_at AT TIME ZONE 'UTC' AS requested_at
FROM id_checks k;

CREATE VIEW pw_conversions AS
SELECT r.id AS conversion_id,
       CASE r.kind
           WHEN 'SIGNUP' THEN 'registration'
           WHEN 'FIRSTDEP' THEN 'ftd'
           WHEN 'DEP' THEN 'deposit'
           WHEN 'REVSHARE' THEN 'revenue'
           ELSE lower(r.kind) END AS conversion_type,
       CASE r.state
           WHEN 'HOLD' THEN 'pending'
           WHEN 'OK' THEN 'approved'
           WHEN 'NO' THEN 'rejected'
           WHEN 'BACK' THEN 'reversed'
           ELSE lower(r.state) END AS state,
       r.partner AS affiliate,
       r.campaign,
       r.player_tag AS player_ref,
       round(r.amount * 100)::bigint AS amount_minor,
       r.currency::text AS currency,
       r.happened_at AT TIME ZONE 'UTC' AS occurred_at,
       r.happened_at AT TIME ZONE 'UTC' AS created_at,  -- Lagoon records it as it happens
       r.confirmed_at AT TIME ZONE 'UTC' AS qualified_at
FROM referrals r;

CREATE VIEW pw_postbacks AS
SELECT p.id AS postback_id,
       p.partner AS affiliate,
       CASE p.event
           WHEN 'SIGNUP' THEN 'registration'
           WHEN 'FIRSTDEP' THEN 'ftd'
           WHEN 'DEP' THEN 'deposit'
           WHEN 'REVSHARE' THEN 'revenue'
           ELSE lower(p.event) END AS event,
       p.referral_id AS conversion_id,
       CASE p.result
           WHEN 'QUEUED' THEN 'pending'
           WHEN 'SENT' THEN 'delivered'
           WHEN 'DEAD' THEN 'dead_letter'
           ELSE lower(p.result) END AS status,
       p.queued_at AT TIME ZONE 'UTC' AS created_at
FROM partner_pings p;

CREATE VIEW pw_postback_attempts AS
SELECT t.id AS attempt_id,
       t.ping_id AS postback_id,
       p.partner AS affiliate,
       r.campaign,
       CASE t.verdict
           WHEN 'OK' THEN 'delivered'
           WHEN 'RETRY' THEN 'failed'
           WHEN 'GAVE_UP' THEN 'dead_letter'
           ELSE lower(t.verdict) END AS outcome,
       t.tried_at AT TIME ZONE 'UTC' AS attempted_at
FROM ping_tries t
JOIN partner_pings p ON p.id = t.ping_id
JOIN referrals r ON r.id = p.referral_id;

-- The casino: a studio is a game provider, a spin a round, a studio's call a casino
-- transaction.
CREATE VIEW pw_game_launches AS
SELECT s.id AS session_id,
       s.studio AS provider,
       CASE s.launch
           WHEN 'READY' THEN 'launched'
           WHEN 'FAILED' THEN 'failed'
           WHEN 'ASKED' THEN 'pending'
           ELSE lower(s.launch) END AS outcome,
       CASE s.fail_code
           WHEN 'STUDIO_DOWN' THEN 'unavailable'
           WHEN 'TIMEOUT' THEN 'timeout'
           WHEN 'REFUSED' THEN 'refused'
           WHEN 'GARBLED' THEN 'invalid_answer'
           ELSE lower(s.fail_code) END AS reason,
       s.opened AT TIME ZONE 'UTC' AS at
FROM game_sessions s;

CREATE VIEW pw_casino_rounds AS
SELECT sp.id AS round_id,
       s.studio AS provider,
       CASE sp.state
           WHEN 'LIVE' THEN 'open'
           WHEN 'DONE' THEN 'completed'
           WHEN 'VOID' THEN 'cancelled'
           ELSE lower(sp.state) END AS status,
       sp.finished AT TIME ZONE 'UTC' AS ended_at,  -- NULL while LIVE
       extract(epoch FROM sp.finished - sp.first_bet) AS result_delay_seconds
FROM spins sp
JOIN game_sessions s ON s.id = sp.session_id;

CREATE VIEW pw_casino_transactions AS
SELECT k.id AS casino_transaction_id,
       k.studio AS provider,
       CASE k.action
           WHEN 'DEBIT' THEN 'bet'
           WHEN 'CREDIT' THEN 'win'
           WHEN 'UNDO' THEN 'rollback'
           ELSE lower(k.action) END AS kind,
       CASE k.verdict
           WHEN 'OK' THEN 'applied'
           WHEN 'NSF' THEN 'insufficient_funds'
           WHEN 'DUP' THEN 'duplicate'
           WHEN 'NOSPIN' THEN 'unknown_round'
           WHEN 'BAD' THEN 'invalid'
           ELSE lower(k.verdict) END AS outcome,
       k.received AT TIME ZONE 'UTC' AS created_at
FROM studio_calls k;
