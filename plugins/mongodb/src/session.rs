//! One check's conversation: `hello`, SCRAM over `saslStart`/`saslContinue`,
//! `ping`, `listCollections`, then the count and the newest `time_field`.
//! Each server refusal becomes a stable message with the server's `code`
//! and `codeName` in `extra`.

use std::time::SystemTime;

use base64::Engine;
use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document, doc};
use sonde_sdk::net::Stream;
use sonde_sdk::{CheckError, Healthy, Problem, Tls, messages, stage};

use crate::scram::{Mechanism, Scram};
use crate::wire::{Conn, ServerError, number, unexpected};
use crate::{Config, Plan};

pub fn run(mut stream: Stream, config: &Config, plan: &Plan, tls: &Tls) -> Result<Healthy, CheckError> {
    if plan.tls {
        stream.start_tls(tls)?;
    }
    let mut conn = Conn::new(stream);
    let uri = &plan.uri;

    let hello = hello(&mut conn, uri.user.as_deref().map(|u| format!("{}.{u}", uri.auth_db())))?;
    let mut healthy = Healthy::new();
    if let Some(v) = number(hello.get("maxWireVersion")) {
        healthy = healthy.detail("max_wire_version", v);
    }
    let authenticated = match (&uri.user, &uri.password) {
        (Some(user), Some(password)) => {
            let mechanism = mechanism(uri.auth_mechanism.as_deref(), &hello);
            authenticate(&mut conn, uri.auth_db(), mechanism, user, password)?;
            healthy = healthy.detail("mechanism", mechanism.name());
            true
        }
        _ => false,
    };
    let refused = |e: ServerError, what: &str| refusal(e, what, authenticated);

    conn.run("admin", doc! {"ping": 1})?.map_err(|e| refused(e, "ping"))?;
    // Best effort: a server may keep its version to itself.
    if let Ok(Ok(info)) = conn.run("admin", doc! {"buildInfo": 1})
        && let Ok(version) = info.get_str("version")
    {
        healthy = healthy.detail("server_version", version);
    }

    let (db, coll) = (config.database.as_str(), config.collection.as_str());
    let listed = conn
        .run(db, read(doc! {"listCollections": 1, "filter": {"name": coll}, "nameOnly": true}))?
        .map_err(|e| refused(e, "listCollections"))?;
    if first_batch(&listed)?.is_empty() {
        return Err(missing(&mut conn, db, coll)?.into());
    }

    let expect = config.expect.clone().unwrap_or_default();
    let count = match &plan.filter {
        None => doc! {"count": coll},
        Some(filter) => doc! {
            "aggregate": coll,
            "pipeline": [{"$match": filter.clone()}, {"$count": "n"}],
            "cursor": {},
        },
    };
    let counted = conn.run(db, read(count))?.map_err(|e| refused(e, "counting documents"))?;
    let n = match &plan.filter {
        None => number(counted.get("n")),
        Some(_) => match first_batch(&counted)?.first() {
            Some(Bson::Document(d)) => number(d.get("n")),
            // `$count` of no documents returns no document at all.
            _ => Some(0),
        },
    };
    let n =
        n.and_then(|n| u64::try_from(n).ok()).ok_or_else(|| unexpected("a count that is no count".into()))?;
    expect.check_rows(n)?;
    healthy = healthy.items(n);

    if let Some(field) = &config.time_field {
        let find = doc! {
            "find": coll,
            "filter": plan.filter.clone().unwrap_or_default(),
            "sort": {field.as_str(): -1},
            "projection": {field.as_str(): 1, "_id": 0},
            "limit": 1,
            "singleBatch": true,
        };
        let found = conn.run(db, read(find))?.map_err(|e| refused(e, "finding the newest document"))?;
        let newest = match first_batch(&found)?.first() {
            Some(Bson::Document(d)) => lookup(d, field).map_or(serde_json::Value::Null, timestamp),
            _ => serde_json::Value::Null,
        };
        expect.check_max_age(&newest, SystemTime::now())?;
        healthy = healthy.detail("newest", newest);
    }
    Ok(healthy.detail("database", db).detail("collection", coll))
}

/// A read any member may answer: a secondary refuses reads without a
/// read preference that allows it (NotPrimaryNoSecondaryOk), and the seed
/// list's first host to answer need not be the primary.
fn read(mut command: Document) -> Document {
    command.insert("$readPreference", doc! {"mode": "primaryPreferred"});
    command
}

/// `hello`, or legacy `isMaster` from a server older than 4.4.2; its
/// answer must look like MongoDB's.
fn hello(conn: &mut Conn, principal: Option<String>) -> Result<Document, CheckError> {
    let mut reply = Err(ServerError { code: 59, code_name: String::new(), errmsg: String::new() });
    for name in ["hello", "isMaster"] {
        let mut command = doc! {name: 1};
        if let Some(p) = &principal {
            command.insert("saslSupportedMechs", p.as_str());
        }
        reply = conn.run("admin", command)?;
        if !matches!(&reply, Err(e) if e.command_not_found()) {
            break;
        }
    }
    let reply = reply.map_err(|e| e.problem(messages::UNEXPECTED_PROTOCOL, stage::PROTOCOL, "hello"))?;
    if number(reply.get("maxWireVersion")).is_none() {
        return Err(unexpected("the hello reply has no maxWireVersion".into()));
    }
    Ok(reply)
}

/// The mechanism: the uri's `authMechanism`, else the strongest the server
/// lists for the user, else SCRAM-SHA-256 (wire version 7, MongoDB 4.0, on)
/// or SCRAM-SHA-1 before it.
fn mechanism(named: Option<&str>, hello: &Document) -> Mechanism {
    if let Some(m) = named.and_then(Mechanism::parse) {
        return m;
    }
    if let Ok(listed) = hello.get_array("saslSupportedMechs") {
        let has = |name: &str| listed.iter().any(|m| m.as_str() == Some(name));
        if has("SCRAM-SHA-256") {
            return Mechanism::Sha256;
        }
        if has("SCRAM-SHA-1") {
            return Mechanism::Sha1;
        }
    }
    if number(hello.get("maxWireVersion")).is_some_and(|v| v < 7) {
        Mechanism::Sha1
    } else {
        Mechanism::Sha256
    }
}

fn authenticate(
    conn: &mut Conn,
    db: &str,
    mechanism: Mechanism,
    user: &str,
    password: &str,
) -> Result<(), CheckError> {
    let failed = |detail: String| Problem::staged(messages::AUTHENTICATION_FAILED, stage::AUTH, detail);
    let password = mechanism.prepare(user, password).map_err(failed)?;
    let mut scram = Scram::new(mechanism, user, password, nonce()?);
    let start = doc! {
        "saslStart": 1,
        "mechanism": mechanism.name(),
        "payload": binary(scram.client_first()),
        "autoAuthorize": 1,
        "options": {"skipEmptyExchange": true},
    };
    let reply = conn.run(db, start)?.map_err(|e| sasl_refusal(e, "saslStart"))?;
    let id = reply.get("conversationId").cloned().unwrap_or(Bson::Int32(1));
    let final_message = scram.client_final(&payload(&reply)?).map_err(failed)?;
    let mut reply = conn
        .run(db, doc! {"saslContinue": 1, "conversationId": id.clone(), "payload": binary(final_message)})?
        .map_err(|e| sasl_refusal(e, "saslContinue"))?;
    scram.verify_server_final(&payload(&reply)?).map_err(failed)?;
    // A server that does not skip the empty exchange wants one more round.
    for _ in 0..2 {
        if reply.get_bool("done").unwrap_or(true) {
            return Ok(());
        }
        reply = conn
            .run(
                db,
                doc! {"saslContinue": 1, "conversationId": id.clone(), "payload": binary(String::new())},
            )?
            .map_err(|e| sasl_refusal(e, "saslContinue"))?;
    }
    Err(unexpected("the SASL conversation does not end".into()))
}

/// A refusal during SASL: every one is the credentials' (a server refuses an
/// unknown user and a wrong password alike, with code 18).
fn sasl_refusal(e: ServerError, what: &str) -> CheckError {
    e.problem(messages::AUTHENTICATION_FAILED, stage::AUTH, what).into()
}

/// A refusal after the login: code 13 is "permission denied", or, when no
/// credentials were given, the server asking for them.
fn refusal(e: ServerError, what: &str, authenticated: bool) -> CheckError {
    let (message, at) = if e.auth_failed() || (e.unauthorized() && !authenticated) {
        (messages::AUTHENTICATION_FAILED, stage::AUTH)
    } else if e.unauthorized() {
        (messages::PERMISSION_DENIED, stage::PERMISSION)
    } else {
        ("server error", stage::PROTOCOL)
    };
    e.problem(message, at, what).into()
}

/// The collection is not there: "database does not exist" when
/// `listDatabases` may be asked and does not list it, else "collection
/// does not exist" (a missing database has no collections either).
fn missing(conn: &mut Conn, db: &str, coll: &str) -> Result<Problem, CheckError> {
    let asked = conn.run("admin", doc! {"listDatabases": 1, "nameOnly": true, "filter": {"name": db}})?;
    let (noun, detail) = match asked {
        Ok(reply) if reply.get_array("databases").is_ok_and(Vec::is_empty) => {
            ("database", format!("no database {db:?} on the server"))
        }
        _ => ("collection", format!("no collection {coll:?} in database {db:?}")),
    };
    Ok(Problem::staged(messages::does_not_exist(noun), stage::RESOURCE, detail))
}

/// A cursor reply's `cursor.firstBatch`.
fn first_batch(reply: &Document) -> Result<&Vec<Bson>, CheckError> {
    reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .map_err(|_| unexpected("a cursor reply without cursor.firstBatch".into()))
}

/// A SASL reply's `payload`, as text.
fn payload(reply: &Document) -> Result<String, CheckError> {
    let bytes = match reply.get("payload") {
        Some(Bson::Binary(b)) => b.bytes.clone(),
        // Some servers answer with the payload base64-encoded in a string.
        Some(Bson::String(s)) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|_| unexpected("a SASL payload that is not base64".into()))?,
        _ => return Err(unexpected("a SASL reply without a payload".into())),
    };
    String::from_utf8(bytes).map_err(|_| unexpected("a SASL payload that is not text".into()))
}

fn binary(text: String) -> Binary {
    Binary { subtype: BinarySubtype::Generic, bytes: text.into_bytes() }
}

/// A fresh client nonce: 24 random bytes, base64.
fn nonce() -> Result<String, CheckError> {
    let mut bytes = [0u8; 24];
    rand_core::OsRng.try_fill_bytes(&mut bytes).map_err(|e| {
        Problem::staged(messages::IO_ERROR, stage::AUTH, format!("no randomness for a nonce: {e}"))
    })?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

use rand_core::RngCore;

/// A dotted path (`meta.created`) into a document.
pub fn lookup<'a>(doc: &'a Document, path: &str) -> Option<&'a Bson> {
    let mut parts = path.split('.');
    let mut value = doc.get(parts.next()?)?;
    for part in parts {
        value = value.as_document()?.get(part)?;
    }
    Some(value)
}

/// A BSON time as `Expect::check_max_age` reads it: a date as RFC 3339,
/// a BSON timestamp as its seconds, numbers and strings as they are (Unix
/// seconds, a timestamp text); anything else as its extended JSON, which
/// the check reports as "not a timestamp".
pub fn timestamp(value: &Bson) -> serde_json::Value {
    match value {
        Bson::DateTime(d) => d
            .try_to_rfc3339_string()
            .map_or_else(|_| (d.timestamp_millis() / 1000).into(), serde_json::Value::from),
        Bson::Timestamp(t) => t.time.into(),
        Bson::Int32(i) => (*i).into(),
        Bson::Int64(i) => (*i).into(),
        Bson::Double(f) => serde_json::json!(f),
        Bson::String(s) => s.as_str().into(),
        other => other.clone().into_relaxed_extjson(),
    }
}
