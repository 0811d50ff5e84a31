//! Sign-ins in progress and their outcome: the pending flows (state, nonce, PKCE verifier,
//! browser binding) that let a callback land on any node, the browsers an org knows, and the
//! login attempts with the statistics read from them. Both tables take rows from requests
//! nobody has signed in for, so each insert enforces its bound with its statements
//! ([`MAX_PENDING_FLOWS_PER_ORG`], [`MAX_PENDING_FLOWS_PER_BROWSER`],
//! [`FAILURES_STORED_PER_MINUTE`]), shared by every node.
//!
//! Pending flows come in two tiers ([`FlowTier`]). Anyone can start sign-ins without signing
//! in, and nothing tells an attacker's anonymous start from a person's first one; so at the
//! org's cap an anonymous start does not wait for room, it takes the place of the oldest
//! anonymous one: a flood can only cut short sign-ins that took longer than the flood needed
//! to fill the cap again, never lock the org out. A browser the org knows (one of its active
//! members signed in with it within [`KNOWN_BROWSER_TTL_MS`]) starts *known* flows, which no
//! anonymous start evicts: returning people sign in whatever the flood.

use super::{Store, StoreError, Tx, corrupt, new_id, stored_text};
use crate::api::login_reason::LoginReason;
use crate::model::{MemberId, OrgId};
use crate::validate::bounded;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Failed login attempts stored per org per minute (and as many for requests naming no org);
/// more are logged and counted (`tessera_login_attempts_total`) but not stored, so
/// unauthenticated requests cannot grow the attempts table faster than this.
pub const FAILURES_STORED_PER_MINUTE: i64 = 30;

/// Unexpired sign-ins an org may have pending at once (started, not yet back at the callback);
/// more are refused until some finish or expire (10 minutes). Room for a very large org's
/// morning (people at Okta's sign-in and MFA pages at once), while bounding what anonymous
/// starts can store: a few MB per org.
pub const MAX_PENDING_FLOWS_PER_ORG: i64 = 10_000;

/// Sign-ins one browser (one binding cookie) may have pending at once; its oldest makes room
/// for a new one (several tabs signing in at once still work).
pub const MAX_PENDING_FLOWS_PER_BROWSER: i64 = 5;

/// How long a browser stays known to an org after one of its members signed in with it (90
/// days; each sign-in renews it).
pub const KNOWN_BROWSER_TTL_MS: i64 = 90 * 86_400_000;

/// Browsers remembered per member (the most recently used; older ones are forgotten).
pub const KNOWN_BROWSERS_PER_MEMBER: i64 = 10;

/// `LIMIT` of the eviction queries, which mean "all rows after the `OFFSET`" (SQLite needs a
/// `LIMIT` with an `OFFSET`).
const ALL_ROWS: i64 = i64::MAX;

/// Which pending sign-ins a new one competes with for room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowTier {
    /// Started by a browser one of the org's active members signed in with lately: never
    /// evicted by anonymous starts; [`MAX_PENDING_FLOWS_PER_ORG`] of them at most, beyond which
    /// a known start is refused.
    Known,
    /// Everyone else: at the org's cap ([`MAX_PENDING_FLOWS_PER_ORG`]) the oldest anonymous
    /// sign-in makes room.
    Anonymous,
}

/// An authorization request in flight, kept server-side so the callback may land on any node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginFlow {
    pub state: String,
    pub org_id: OrgId,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where to land after sign-in: a path on Tessera's own origin.
    pub target: Option<String>,
    /// SHA-256 (lowercase hex) of the browser-binding cookie of the browser that started the
    /// flow; only a callback presenting that cookie may complete it (login CSRF).
    pub browser_hash: String,
    pub expires_at: i64,
}

/// Outcome of a login attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

/// One recorded login attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginAttempt {
    pub id: String,
    pub org_id: Option<OrgId>,
    pub at: i64,
    pub outcome: Outcome,
    pub reason: LoginReason,
    pub detail: String,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub email: Option<String>,
    pub member_id: Option<MemberId>,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }

    /// The outcome stored as `s` (`success` or `failure`, see [`Outcome::as_str`]).
    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            _ => None,
        }
    }
}

impl LoginAttempt {
    /// An attempt made at `at` (unix ms: the store's [`Store::now_ms`]), without issuer,
    /// subject, email or member yet.
    pub fn new(
        at: i64,
        org_id: Option<&OrgId>,
        outcome: Outcome,
        reason: LoginReason,
        detail: &str,
    ) -> Self {
        LoginAttempt {
            id: new_id(),
            org_id: org_id.cloned(),
            at,
            outcome,
            reason,
            detail: detail.to_string(),
            issuer: None,
            subject: None,
            email: None,
            member_id: None,
        }
    }
}

const ATTEMPT_COLUMNS: &str = "SELECT id, org_id, at, outcome, reason, detail, issuer, subject, email, member_id FROM login_attempts";

fn optional_text(v: Option<String>) -> Option<String> {
    v.map(|v| stored_text(&v))
}

fn attempt_from_row(row: &AnyRow) -> Result<LoginAttempt, StoreError> {
    let outcome: String = row.try_get("outcome")?;
    let reason: String = row.try_get("reason")?;
    Ok(LoginAttempt {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        at: row.try_get("at")?,
        outcome: Outcome::parse(&outcome)
            .ok_or_else(|| corrupt(format!("unknown login outcome {outcome:?} in store")))?,
        reason: LoginReason::from_code(&reason).ok_or_else(|| {
            corrupt(format!(
                "unknown login reason {:?} in store",
                bounded(&reason, 64)
            ))
        })?,
        // Rows written before values were bounded on the way in are made safe on the way out.
        detail: stored_text(&row.try_get::<String, _>("detail")?),
        issuer: optional_text(row.try_get("issuer")?),
        subject: optional_text(row.try_get("subject")?),
        email: optional_text(row.try_get("email")?),
        member_id: row.try_get("member_id")?,
    })
}

/// Batched retention delete of attempts recorded before `$1`, at most `$2` at a time (see
/// [`Store::purge_retention`]).
pub(super) const ATTEMPTS_OLDER_THAN: &str =
    "DELETE FROM login_attempts WHERE id IN (SELECT id FROM login_attempts WHERE at < $1 LIMIT $2)";

/// Deletes the flows expired at `now`, and forgets the browsers not seen within
/// [`KNOWN_BROWSER_TTL_MS`]; returns how many rows went.
pub(super) async fn delete_expired_flows(
    pool: &sqlx::AnyPool,
    now: i64,
) -> Result<u64, StoreError> {
    let flows = sqlx::query("DELETE FROM login_flows WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected();
    let browsers = sqlx::query("DELETE FROM known_browsers WHERE seen_at <= $1")
        .bind(now - KNOWN_BROWSER_TTL_MS)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(flows + browsers)
}

impl Store {
    /// Saves a started sign-in and returns its tier, or `None` when it is refused: only a
    /// known browser's, when the org already has [`MAX_PENDING_FLOWS_PER_ORG`] known ones
    /// pending. Room is made first: the browser keeps at most [`MAX_PENDING_FLOWS_PER_BROWSER`]
    /// pending (its oldest go), and an anonymous start at the org's cap evicts the oldest
    /// anonymous ones (see the module's documentation), as many as the org's pending-flow
    /// counters (`login_flow_counts`, kept by triggers) say are too many: a start costs the
    /// same with 10 or 10,000 flows pending. What the start needs to know (whether the org
    /// knows the browser, the org's and the browser's pending flows) is read first, in one
    /// statement; with room enough the flow is then one `INSERT`, else one transaction that
    /// writes first (on SQLite it holds the write lock from its first statement, so it never
    /// has to upgrade a read) makes room and inserts. Nodes share the bounds through the
    /// database.
    ///
    /// `new_browser`: the browser's binding was made for this sign-in (a random value nobody
    /// has seen), so it has no flows to make room among and is anonymous; those two lookups
    /// are skipped.
    pub async fn save_login_flow(
        &self,
        flow: &LoginFlow,
        new_browser: bool,
    ) -> Result<Option<FlowTier>, StoreError> {
        let now = self.now_ms();
        // Read before writing (a browser that becomes known or forgotten meanwhile, or a flow
        // saved meanwhile, changes nothing that matters).
        let room = room_for(&self.readers, flow, new_browser, now).await?;
        let tier = if room.known {
            FlowTier::Known
        } else {
            FlowTier::Anonymous
        };
        let crowded = room.mine >= MAX_PENDING_FLOWS_PER_BROWSER
            || (tier == FlowTier::Anonymous && room.anonymous >= MAX_PENDING_FLOWS_PER_ORG);
        let saved = if crowded {
            let mut tx = self.begin().await?;
            make_room(&mut tx, flow, new_browser, tier).await?;
            let saved = insert_flow(tx.conn(), flow, tier, now).await?;
            tx.commit().await?;
            saved
        } else {
            // Room enough: one statement. Starts running at once may each find the last
            // place free and pass the cap by as many as run at once; the next start that finds
            // the org full trims it back to the cap.
            insert_flow(&self.pool, flow, tier, now).await?
        };
        Ok(saved.then_some(tier))
    }

    /// A successful sign-in, in one transaction: its login `attempt` (see
    /// [`Store::record_login_attempt`]) and the browser whose binding cookie hashes to
    /// `browser_hash`, remembered for the member: its next sign-ins are [`FlowTier::Known`].
    /// The member's browsers beyond the [`KNOWN_BROWSERS_PER_MEMBER`] most recent are
    /// forgotten. One commit instead of three: on SQLite the sign-in's pages reach the log
    /// once. A store error leaves neither written.
    pub async fn record_sign_in(
        &self,
        attempt: &LoginAttempt,
        browser_hash: &str,
    ) -> Result<(), StoreError> {
        let (Some(org_id), Some(member_id)) = (&attempt.org_id, &attempt.member_id) else {
            return Err(corrupt(
                "a successful sign-in names its org and member".into(),
            ));
        };
        let mut tx = self.begin().await?;
        attempt_on(tx.conn(), attempt).await?;
        remember_on(&mut tx, org_id, browser_hash, member_id, attempt.at).await?;
        tx.commit().await
    }

    /// Removes and returns the flow for `state` started by the browser whose binding cookie
    /// hashes to `browser_hash`: a state can be used once, by one callback, even when two
    /// arrive at once on different nodes, and only from the browser that started it — another
    /// browser's callback leaves the flow in place for its owner. Expired flows are not
    /// returned.
    pub async fn take_login_flow(
        &self,
        state: &str,
        browser_hash: &str,
    ) -> Result<Option<LoginFlow>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM login_flows WHERE state = $1 AND browser_hash = $2
             RETURNING state, org_id, nonce, pkce_verifier, target, expires_at, browser_hash",
        )
        .bind(state)
        .bind(browser_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let flow = LoginFlow {
            state: row.try_get("state")?,
            org_id: row.try_get("org_id")?,
            nonce: row.try_get("nonce")?,
            pkce_verifier: row.try_get("pkce_verifier")?,
            target: row.try_get("target")?,
            browser_hash: row.try_get("browser_hash")?,
            expires_at: row.try_get("expires_at")?,
        };
        Ok((flow.expires_at > self.now_ms()).then_some(flow))
    }

    /// True when an unexpired flow with this `state` is pending (whichever browser started it).
    pub async fn login_flow_pending(&self, state: &str) -> Result<bool, StoreError> {
        let row =
            sqlx::query("SELECT 1 AS one FROM login_flows WHERE state = $1 AND expires_at > $2")
                .bind(state)
                .bind(self.now_ms())
                .fetch_optional(&self.readers)
                .await?;
        Ok(row.is_some())
    }

    /// Records a login attempt. Every text that may come from outside (the reason's detail,
    /// an IdP's `error_description`, the issuer, subject and email of a request or a token) is
    /// stored bounded with control characters removed ([`crate::validate::bounded`]), whatever
    /// the caller passes.
    ///
    /// Failures are what anyone can cause without signing in, so at most
    /// [`FAILURES_STORED_PER_MINUTE`] are stored per org in any minute, and as many again for
    /// requests naming no org; the rest only reach the log line and the metric. Returns whether
    /// the attempt was stored (successes always are).
    pub async fn record_login_attempt(&self, a: &LoginAttempt) -> Result<bool, StoreError> {
        attempt_on(&self.pool, a).await
    }

    /// Most recent login attempts of an org, newest first.
    pub async fn recent_login_attempts(
        &self,
        org_id: &OrgId,
        limit: i64,
    ) -> Result<Vec<LoginAttempt>, StoreError> {
        self.login_attempts_of(org_id, None, limit).await
    }

    // ---- login statistics ------------------------------------------------------------------

    /// An org's most recent login attempts, newest first, optionally of one outcome.
    pub async fn login_attempts_of(
        &self,
        org_id: &OrgId,
        outcome: Option<Outcome>,
        limit: i64,
    ) -> Result<Vec<LoginAttempt>, StoreError> {
        let rows = match outcome {
            Some(o) => {
                sqlx::query(&format!(
                    "{ATTEMPT_COLUMNS} WHERE org_id = $1 AND outcome = $2 ORDER BY at DESC, id DESC LIMIT $3"
                ))
                .bind(org_id)
                .bind(o.as_str())
                .bind(limit)
                .fetch_all(&self.readers)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "{ATTEMPT_COLUMNS} WHERE org_id = $1 ORDER BY at DESC, id DESC LIMIT $2"
                ))
                .bind(org_id)
                .bind(limit)
                .fetch_all(&self.readers)
                .await?
            }
        };
        rows.iter().map(attempt_from_row).collect()
    }

    /// Attempts per UTC day since `since_ms`: `(day number since the epoch, successes,
    /// failures)`, only days that had attempts, in no particular order.
    pub async fn daily_login_counts(
        &self,
        org_id: &OrgId,
        since_ms: i64,
    ) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT at / 86400000 AS day,
                    SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS ok,
                    SUM(CASE WHEN outcome = 'success' THEN 0 ELSE 1 END) AS failed
             FROM login_attempts WHERE org_id = $1 AND at >= $2
             GROUP BY at / 86400000",
        )
        .bind(org_id)
        .bind(since_ms)
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<i64, _>("day")?,
                    r.try_get::<i64, _>("ok")?,
                    r.try_get::<i64, _>("failed")?,
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// The latest successful sign-in: when, the email it carried and the member's name.
    pub async fn last_login_success(
        &self,
        org_id: &OrgId,
    ) -> Result<Option<(i64, String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT a.at, a.email, m.name FROM login_attempts a
             LEFT JOIN members m ON m.id = a.member_id
             WHERE a.org_id = $1 AND a.outcome = 'success'
             ORDER BY a.at DESC, a.id DESC LIMIT 1",
        )
        .bind(org_id)
        .fetch_optional(&self.readers)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let at: i64 = row.try_get("at")?;
        let email: Option<String> = row.try_get("email")?;
        let name: Option<String> = row.try_get("name")?;
        Ok(Some((
            at,
            stored_text(&email.unwrap_or_default()),
            stored_text(&name.unwrap_or_default()),
        )))
    }

    /// The latest failed sign-in attempt.
    pub async fn last_login_failure(
        &self,
        org_id: &OrgId,
    ) -> Result<Option<LoginAttempt>, StoreError> {
        let row = sqlx::query(&format!(
            "{ATTEMPT_COLUMNS} WHERE org_id = $1 AND outcome = 'failure' ORDER BY at DESC, id DESC LIMIT 1"
        ))
        .bind(org_id)
        .fetch_optional(&self.readers)
        .await?;
        row.map(|r| attempt_from_row(&r)).transpose()
    }
}

/// Inside `tx`: has one of the org's active members signed in with the browser whose binding
/// cookie hashes to `browser_hash` since `now - KNOWN_BROWSER_TTL_MS`?
/// What a start needs to know before it writes ([`Store::save_login_flow`]).
struct Room {
    /// One of the org's active members signed in with this browser within
    /// [`KNOWN_BROWSER_TTL_MS`].
    known: bool,
    /// The org's anonymous flows pending, by its counters (expired ones not yet purged too).
    anonymous: i64,
    /// The browser's own flows pending.
    mine: i64,
}

/// [`Room`] for `flow`, in one statement. A new browser (a binding made for this start) has no
/// flows and no org knows it: only the org's counters are read.
async fn room_for(
    readers: &sqlx::AnyPool,
    flow: &LoginFlow,
    new_browser: bool,
    now: i64,
) -> Result<Room, StoreError> {
    const ANONYMOUS: &str = "SELECT CAST(COALESCE(SUM(anonymous), 0) AS BIGINT) FROM login_flow_counts WHERE org_id = $1";
    if new_browser {
        let row = sqlx::query(&format!("SELECT ({ANONYMOUS}) AS anonymous"))
            .bind(&flow.org_id)
            .fetch_one(readers)
            .await?;
        return Ok(Room {
            known: false,
            anonymous: row.try_get("anonymous")?,
            mine: 0,
        });
    }
    let row = sqlx::query(&format!(
        "SELECT ({ANONYMOUS}) AS anonymous,
                (SELECT COUNT(*) FROM login_flows WHERE browser_hash = $2) AS mine,
                (SELECT COUNT(*) FROM known_browsers k JOIN members m ON m.id = k.member_id
                 WHERE k.org_id = $1 AND k.browser_hash = $2 AND k.seen_at > $3
                   AND m.org_id = $1 AND m.status = 'active') AS known"
    ))
    .bind(&flow.org_id)
    .bind(&flow.browser_hash)
    .bind(now - KNOWN_BROWSER_TTL_MS)
    .fetch_one(readers)
    .await?;
    Ok(Room {
        known: row.try_get::<i64, _>("known")? > 0,
        anonymous: row.try_get("anonymous")?,
        mine: row.try_get("mine")?,
    })
}

/// Inserts `flow` in `tier` through `e`, created `now`; false when refused: a known start
/// when the org has [`MAX_PENDING_FLOWS_PER_ORG`] known flows pending, counted from its
/// counters and, only when those say it is full, exactly (the counters include expired flows
/// the purge has not deleted yet).
async fn insert_flow<'e, E>(
    e: E,
    flow: &LoginFlow,
    tier: FlowTier,
    now: i64,
) -> Result<bool, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let done = sqlx::query(
        "INSERT INTO login_flows (state, org_id, nonce, pkce_verifier, target, created_at, expires_at, browser_hash, known)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
         WHERE $9 = 0
            OR (SELECT COALESCE(SUM(known), 0) FROM login_flow_counts WHERE org_id = $2) < $10
            OR (SELECT COUNT(*) FROM login_flows WHERE org_id = $2 AND known = 1 AND expires_at > $6) < $10",
    )
    .bind(&flow.state)
    .bind(&flow.org_id)
    .bind(&flow.nonce)
    .bind(&flow.pkce_verifier)
    .bind(flow.target.as_deref())
    .bind(now)
    .bind(flow.expires_at)
    .bind(&flow.browser_hash)
    .bind(i64::from(tier == FlowTier::Known))
    .bind(MAX_PENDING_FLOWS_PER_ORG)
    .execute(e)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inside `tx`, as its first statement: makes room for `flow`. The browser's own oldest
/// pending flows beyond the room for this one go (unless the browser is new: it has none),
/// and for an anonymous start the org's oldest anonymous flows beyond the room for this one,
/// as many as the org's counters (`login_flow_counts`) say are too many. Expired ones are not
/// told apart: every flow lives as long (`signin::FLOW_TTL_MS`), so they are the oldest and go
/// first.
///
/// One statement, so the walk is as long as what goes (the indexes on (org_id, known,
/// created_at, state) and (browser_hash, created_at, state) are read in their order), and on
/// PostgreSQL the counter row is locked once, at its end, after every flow row it deletes.
async fn make_room(
    tx: &mut Tx,
    flow: &LoginFlow,
    new_browser: bool,
    tier: FlowTier,
) -> Result<(), StoreError> {
    // Placeholders `$1`.. in order of use: PostgreSQL wants every one bound, and no more.
    let browser = |n: usize| {
        format!(
            "SELECT state FROM (
                 SELECT state FROM login_flows WHERE browser_hash = ${n}
                 ORDER BY created_at DESC, state DESC LIMIT ${} OFFSET ${}) mine",
            n + 1,
            n + 2
        )
    };
    let org = |n: usize| {
        format!(
            "SELECT state FROM (
                 SELECT state FROM login_flows WHERE org_id = ${n} AND known = 0
                 ORDER BY created_at, state
                 LIMIT (SELECT CAST(CASE WHEN COALESCE(SUM(anonymous), 0) > ${m}
                                         THEN SUM(anonymous) - ${m} ELSE 0 END AS BIGINT)
                        FROM login_flow_counts WHERE org_id = ${n})) oldest",
            m = n + 1
        )
    };
    let (mine, oldest) = (!new_browser, tier == FlowTier::Anonymous);
    let victims = match (mine, oldest) {
        (true, true) => format!("{} UNION ALL {}", browser(1), org(4)),
        (true, false) => browser(1),
        (false, true) => org(1),
        (false, false) => return Ok(()),
    };
    let sql = format!("DELETE FROM login_flows WHERE state IN ({victims})");
    let mut query = sqlx::query(&sql);
    if mine {
        query = query
            .bind(&flow.browser_hash)
            .bind(ALL_ROWS)
            .bind(MAX_PENDING_FLOWS_PER_BROWSER - 1);
    }
    if oldest {
        query = query.bind(&flow.org_id).bind(MAX_PENDING_FLOWS_PER_ORG - 1);
    }
    query.execute(tx.conn()).await?;
    Ok(())
}

/// Inserts attempt `a` through `e`; see [`Store::record_login_attempt`].
async fn attempt_on<'e, E>(e: E, a: &LoginAttempt) -> Result<bool, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let optional = |v: Option<&str>| v.map(stored_text);
    // One statement, so concurrent failures on any node share the budget (a race may let
    // a few more through, never an unbounded number).
    let same_org = if a.org_id.is_some() {
        "org_id = $2"
    } else {
        "org_id IS NULL"
    };
    let done = sqlx::query(&format!(
        "INSERT INTO login_attempts (id, org_id, at, outcome, reason, detail, issuer, subject, email, member_id)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
         WHERE $4 = 'success'
            OR (SELECT COUNT(*) FROM login_attempts
                WHERE {same_org} AND outcome = 'failure' AND at > $11 AND at <= $3) < $12",
    ))
    .bind(&a.id)
    .bind(a.org_id.as_ref().map(OrgId::as_str))
    .bind(a.at)
    .bind(a.outcome.as_str())
    .bind(a.reason.code())
    .bind(stored_text(&a.detail))
    .bind(optional(a.issuer.as_deref()))
    .bind(optional(a.subject.as_deref()))
    .bind(optional(a.email.as_deref()))
    .bind(a.member_id.as_ref().map(MemberId::as_str))
    .bind(a.at - 60_000)
    .bind(FAILURES_STORED_PER_MINUTE)
    .execute(e)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inside `tx`: remembers the browser `browser_hash` for `member_id` of `org_id`, seen at
/// `now` (unix ms), and forgets the member's browsers beyond the most recent
/// [`KNOWN_BROWSERS_PER_MEMBER`].
async fn remember_on(
    tx: &mut Tx,
    org_id: &OrgId,
    browser_hash: &str,
    member_id: &MemberId,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO known_browsers (org_id, browser_hash, member_id, seen_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (org_id, browser_hash)
         DO UPDATE SET member_id = excluded.member_id, seen_at = excluded.seen_at",
    )
    .bind(org_id)
    .bind(browser_hash)
    .bind(member_id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "DELETE FROM known_browsers WHERE member_id = $1 AND browser_hash IN (
             SELECT browser_hash FROM known_browsers WHERE member_id = $1
             ORDER BY seen_at DESC, browser_hash DESC LIMIT $2 OFFSET $3)",
    )
    .bind(member_id)
    .bind(ALL_ROWS)
    .bind(KNOWN_BROWSERS_PER_MEMBER)
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn stored_login_outcomes_map_strictly() {
        for o in [Outcome::Success, Outcome::Failure] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        for bad in ["", "Success", "failed", "ok"] {
            assert_eq!(Outcome::parse(bad), None, "{bad:?}");
        }
    }
}
