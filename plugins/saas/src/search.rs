//! Elasticsearch and OpenSearch, shared by their two probes: the same
//! `hosts` and `index_name` keys, and the same two calls.
//!
//! 1. `GET /_cluster/health`
//!    (https://www.elastic.co/guide/en/elasticsearch/reference/current/cluster-health.html,
//!    https://opensearch.org/docs/latest/api-reference/cluster-api/cluster-health/):
//!    proves the credentials (a 401 is "authentication failed"). It needs the
//!    cluster `monitor` privilege, which a key for one index may lack, so its
//!    403 is recorded (`details.cluster_health = "not permitted"`), not
//!    failed; so is the 410 of Elastic Cloud Serverless, which has none.
//! 2. `GET /<index_name>/_count`
//!    (https://www.elastic.co/guide/en/elasticsearch/reference/current/search-count.html,
//!    https://opensearch.org/docs/latest/api-reference/count/): needs `read`
//!    on the index, as the connector does; 404 (`index_not_found_exception`)
//!    is "index does not exist", 403 "permission denied"; `count` is the
//!    check's `items`, and what `expect.rows` is held to.
//!
//! The target is the first of Unstructured's `hosts` (a root template that
//! is one pointer, `{/hosts/0}`: see docs/probes-saas.md for what the host
//! must allow for it).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use sonde_sdk::{CheckError, Endpoint, Expect, Healthy};
use url::Url;

use crate::{address, web};

/// The cluster and index, as Unstructured names them.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Index {
    /// The cluster's URLs; the check reaches the first
    /// (`https://<host>:<port>`), which is where the host sends the
    /// credentials.
    #[schemars(length(min = 1))]
    pub hosts: Vec<String>,
    /// The index the connector reads.
    #[schemars(length(min = 1))]
    pub index_name: String,
}

impl Index {
    /// The first of `hosts`, the one the check reaches.
    pub fn base(&self) -> Result<Url, String> {
        let first = self.hosts.first().ok_or("hosts must name at least one URL")?;
        address::base(first, "hosts[0]")
    }

    pub fn endpoints(&self) -> Result<Vec<Endpoint>, String> {
        Ok(vec![address::endpoint(&self.base()?)?])
    }
}

/// The ROOT target template of both probes: the first of `hosts`.
pub fn target(schema: &mut schemars::Schema) {
    crate::root_target(schema, "{/hosts/0}");
}

/// The two calls above, and `expect.rows` on the documents counted.
pub fn check(index: &Index, expect: Option<&Expect>, source_type: &str) -> Result<Healthy, CheckError> {
    let base = index.base().map_err(CheckError::InvalidConfig)?;
    let health = web::get(&address::join(&base, &["_cluster", "health"], &[]))?;
    // A key for one index may lack `monitor` (403), and Elastic Cloud
    // Serverless has no cluster health (410): neither says the index is
    // unreadable, which the count below decides.
    let health = match health.status {
        403 => Err("not permitted"),
        404 | 410 => Err("not available"),
        _ => Ok(web::ok_json(&health, "cluster")?),
    };
    let count = web::get(&address::join(&base, &[&index.index_name, "_count"], &[]))?;
    let count = documents(&web::ok_json(&count, "index")?)?;
    crate::expect_rows(expect, source_type, count)?;
    let mut healthy = Healthy::new().items(count).detail("index", index.index_name.as_str());
    healthy = match health.map(|h| cluster(&h)) {
        Ok(Some((name, status))) => healthy.detail("cluster_name", name).detail("cluster_health", status),
        Ok(None) => healthy,
        Err(why) => healthy.detail("cluster_health", why),
    };
    Ok(healthy)
}

/// `cluster_name` and `status` of a cluster-health answer.
pub fn cluster(health: &Value) -> Option<(String, String)> {
    Some((health["cluster_name"].as_str()?.to_string(), health["status"].as_str()?.to_string()))
}

/// `count` of a count answer.
pub fn documents(count: &Value) -> Result<u64, CheckError> {
    count["count"].as_u64().ok_or_else(|| web::unexpected("the _count answer has no numeric count"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_documented_answers() {
        // https://www.elastic.co/guide/en/elasticsearch/reference/current/cluster-health.html#cluster-health-api-example
        let health = json!({"cluster_name": "testcluster", "status": "yellow", "timed_out": false,
            "number_of_nodes": 1, "number_of_data_nodes": 1, "active_primary_shards": 1, "active_shards": 1,
            "relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": 1, "delayed_unassigned_shards": 0,
            "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0, "task_max_waiting_in_queue_millis": 0,
            "active_shards_percent_as_number": 50.0});
        assert_eq!(cluster(&health), Some(("testcluster".into(), "yellow".into())));
        // https://www.elastic.co/guide/en/elasticsearch/reference/current/search-count.html#search-count-api-example
        let count = json!({"count": 1, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}});
        assert_eq!(documents(&count).ok(), Some(1));
    }

    #[test]
    fn the_first_host_is_the_target() {
        let index = Index {
            hosts: vec!["https://es.example:9243".into(), "https://b".into()],
            index_name: "i".into(),
        };
        assert_eq!(index.endpoints().expect("as documented"), vec![Endpoint::new("es.example", 9243)]);
        let none = Index { hosts: vec![], index_name: "i".into() };
        assert!(none.base().is_err());
    }
}
