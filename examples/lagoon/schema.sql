-- Lagoon's platform schema: a small, made-up iGaming platform that is NOT pitwatch's
-- reference platform. Run it with search_path set to the schema it goes in, e.g.
--   psql "$ADMIN_URL" -c 'CREATE SCHEMA lagoon'
--   PGOPTIONS='-c search_path=lagoon' psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -f schema.sql
--
-- How it differs from the reference platform (and what views.sql maps):
-- - amounts are numeric(14,2) in MAJOR units (12.34 EUR), not integer minor units;
-- - times are naive `timestamp` columns holding UTC, not timestamptz;
-- - status words are Lagoon's own: payins NEW/WAIT/OK/KO/ERR/CB/CBR/RFD, payouts
--   QUEUED/SENT/PAID/REJECTED, referrals HOLD/OK/NO/BACK, ...;
-- - PSPs are tidepay and kiwiflow ("gateways");
-- - the books are a journal of DEBIT and CREDIT lines, not signed amounts; each wallet has
--   a normal side: a player's wallet (a liability) is credit-normal, the PSP receivable (an
--   asset: what the PSP owes Lagoon) is debit-normal;
-- - no sportsbook, no outbox;
-- - the casino's game studios (reelhouse) call Lagoon's wallet per spin: DEBIT, CREDIT, UNDO.

CREATE TABLE customers (
    id          serial PRIMARY KEY,
    handle      text NOT NULL UNIQUE,          -- Lagoon's player id
    country     char(2) NOT NULL,
    currency    char(3) NOT NULL,
    brand       text NOT NULL,
    created     timestamp NOT NULL             -- UTC
);

-- Every account of the books. kind: MAIN (cash), BONUS, HOLD (funds locked for a payout)
-- of a customer; PSP (receivable from a gateway), GAME (casino), FEES, ADJ of the house.
CREATE TABLE wallets (
    id          serial PRIMARY KEY,
    customer_id int REFERENCES customers (id), -- NULL: a house account
    kind        text NOT NULL CHECK (kind IN ('MAIN', 'BONUS', 'HOLD', 'PSP', 'GAME', 'FEES', 'ADJ')),
    gateway     text,                          -- the PSP of a PSP account
    currency    char(3) NOT NULL,
    normal_side char(1) NOT NULL CHECK (normal_side IN ('D', 'C')),
    balance     numeric(14, 2) NOT NULL DEFAULT 0  -- on its normal side
);

-- One posting per money movement; its journal lines' debits equal its credits.
-- kind: PAYIN, PAYOUT_HOLD, PAYOUT, WAGER, WIN, UNDO (a wager given back), CORRECTION,
-- CHARGEBACK, REVERSAL.
CREATE TABLE postings (
    id          bigserial PRIMARY KEY,
    posting_ref text NOT NULL UNIQUE,
    kind        text NOT NULL,
    customer_id int REFERENCES customers (id),
    ref         text,                          -- the payin of a chargeback, ...
    flagged     boolean NOT NULL DEFAULT false,
    posted_at   timestamp NOT NULL
);

CREATE TABLE journal (
    line_id     bigserial PRIMARY KEY,
    posting_id  bigint NOT NULL REFERENCES postings (id),
    wallet_id   int NOT NULL REFERENCES wallets (id),
    debit       numeric(14, 2) NOT NULL DEFAULT 0 CHECK (debit >= 0),
    credit      numeric(14, 2) NOT NULL DEFAULT 0 CHECK (credit >= 0),
    booked_at   timestamp NOT NULL
);
CREATE INDEX journal_posting ON journal (posting_id);
CREATE INDEX journal_wallet ON journal (wallet_id);

-- Deposits. state: NEW (not sent yet), WAIT (the gateway has it), OK, KO (declined),
-- ERR (failed), CB (charged back), CBR (chargeback reversed), RFD (refunded).
-- instrument: CARD, MBWAY, POLI (what the customer paid with).
CREATE TABLE payins (
    id          bigserial PRIMARY KEY,
    ref         text NOT NULL UNIQUE,          -- the merchant reference the gateway knows
    customer_id int NOT NULL REFERENCES customers (id),
    gateway     text NOT NULL,
    instrument  text NOT NULL,
    gateway_ref text,
    currency    char(3) NOT NULL,
    amount      numeric(14, 2) NOT NULL,
    state       text NOT NULL,
    opened_at   timestamp NOT NULL,
    closed_at   timestamp,                     -- when the gateway approved it
    state_at    timestamp NOT NULL             -- when state last changed (opened_at at first)
);
CREATE INDEX payins_state_opened ON payins (state, opened_at);
CREATE INDEX payins_closed ON payins (closed_at);

-- Withdrawals. state: QUEUED (funds on hold), SENT (with the gateway), PAID, REJECTED.
CREATE TABLE payouts (
    id          bigserial PRIMARY KEY,
    ref         text NOT NULL UNIQUE,
    customer_id int NOT NULL REFERENCES customers (id),
    gateway     text NOT NULL,
    gateway_ref text,
    currency    char(3) NOT NULL,
    amount      numeric(14, 2) NOT NULL,
    state       text NOT NULL,
    opened_at   timestamp NOT NULL,
    closed_at   timestamp,
    state_at    timestamp NOT NULL             -- when state last changed
);
CREATE INDEX payouts_state_opened ON payouts (state, opened_at);
CREATE INDEX payouts_closed ON payouts (closed_at);

-- Every notification a gateway sent. result: APPLIED, DUP, LATE, UNKNOWN_REF, BAD_AMOUNT,
-- BAD_SIG, BAD, IGNORED.
CREATE TABLE gateway_notifications (
    id            bigserial PRIMARY KEY,
    gateway       text NOT NULL,
    gateway_state text NOT NULL,               -- as the gateway sent it
    result        text NOT NULL,
    event_key     text,
    merchant_ref  text,
    gateway_ref   text,
    currency      char(3),
    amount        numeric(14, 2),
    occurred      timestamp,
    received      timestamp NOT NULL
);

-- Identity checks. outcome: WAITING, VENDOR_DOWN, REVIEW, PASS, FAIL.
CREATE TABLE id_checks (
    id          bigserial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers (id),
    outcome     text NOT NULL,
    asked_at    timestamp NOT NULL
);

-- Affiliate referrals. kind: SIGNUP, FIRSTDEP (an FTD), DEP, REVSHARE;
-- state: HOLD, OK, NO, BACK (clawed back).
CREATE TABLE referrals (
    id           bigserial PRIMARY KEY,
    customer_id  int NOT NULL REFERENCES customers (id),
    player_tag   text NOT NULL,                -- the pseudonymous id partners see
    partner      text,
    campaign     text,
    kind         text NOT NULL,
    state        text NOT NULL,
    amount       numeric(14, 2) NOT NULL DEFAULT 0,
    currency     char(3) NOT NULL,
    happened_at  timestamp NOT NULL,
    confirmed_at timestamp
);
CREATE INDEX referrals_kind_confirmed ON referrals (kind, confirmed_at);

-- The pings to partners (postbacks). result: QUEUED, SENT, DEAD.
CREATE TABLE partner_pings (
    id          bigserial PRIMARY KEY,
    referral_id bigint NOT NULL REFERENCES referrals (id),
    partner     text NOT NULL,
    event       text NOT NULL,                 -- a referral kind
    result      text NOT NULL,
    queued_at   timestamp NOT NULL
);
CREATE INDEX partner_pings_referral ON partner_pings (referral_id);

-- Every HTTP call of a ping. verdict: OK (the partner took it), RETRY (refused or no
-- answer: tried again later), GAVE_UP (the last try failed: the ping is DEAD).
CREATE TABLE ping_tries (
    id          bigserial PRIMARY KEY,
    ping_id     bigint NOT NULL REFERENCES partner_pings (id),
    http_code   int,                           -- NULL: no answer
    verdict     text NOT NULL,
    tried_at    timestamp NOT NULL
);

-- Casino. A game session opened at a studio (the game provider). launch: ASKED (waiting
-- for the studio's game URL), READY (launched), FAILED; fail_code: STUDIO_DOWN, TIMEOUT,
-- REFUSED, GARBLED (an answer Lagoon could not read).
CREATE TABLE game_sessions (
    id          bigserial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers (id),
    studio      text NOT NULL,
    game_code   text NOT NULL,
    launch      text NOT NULL,
    fail_code   text,
    opened      timestamp NOT NULL
);

-- Spins (game rounds), as the studio reports them. state: LIVE, DONE (its result came),
-- VOID (cancelled by the studio).
CREATE TABLE spins (
    id          bigserial PRIMARY KEY,
    session_id  bigint NOT NULL REFERENCES game_sessions (id),
    studio_ref  text NOT NULL,                 -- the studio's round id
    state       text NOT NULL,
    first_bet   timestamp NOT NULL,
    finished    timestamp                      -- DONE or VOID since
);
CREATE INDEX spins_session ON spins (session_id);

-- The studios' calls to Lagoon's wallet. action: DEBIT (a bet), CREDIT (a win), UNDO
-- (a bet given back); verdict: OK, NSF (insufficient funds), DUP (a replay, answered
-- as before), NOSPIN (unknown spin), BAD.
CREATE TABLE studio_calls (
    id          bigserial PRIMARY KEY,
    studio      text NOT NULL,
    spin_id     bigint REFERENCES spins (id),
    action      text NOT NULL,
    verdict     text NOT NULL,
    amount      numeric(14, 2) NOT NULL,
    posting_id  bigint REFERENCES postings (id),  -- the money movement, when OK
    received    timestamp NOT NULL
);
