//! A database outage under load, on a private PostgreSQL (initdb/pg_ctl,
//! so the shared server is untouched): see the test's own doc.
