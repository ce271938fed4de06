//! Where each vendor's documented error body keeps its message and its
//! code, so a failure can show the vendor's own words beside Sonde's stable
//! message (never instead of it: operators alert on the stable one).
//!
//! The shapes, each from the vendor's API reference (URLs in the tests):
//!
//! | vendor | body |
//! | --- | --- |
//! | Google (Cloud Storage, Drive) | `{"error": {"code": 404, "message": …, "errors": [...]}}` |
//! | Microsoft Graph | `{"error": {"code": "itemNotFound", "message": …}}` |
//! | Elasticsearch, OpenSearch | `{"error": {"type": …, "reason": …}, "status": 404}` |
//! | Confluence | `{"statusCode": 404, "message": …}` |
//! | Jira | `{"errorMessages": [...], "errors": {}}` |
//! | Salesforce | `[{"message": …, "errorCode": …}]` |
//! | Slack, Zendesk | `{"error": "invalid_auth"}` |
//! | Dropbox | `{"error_summary": …, "error": {".tag": …}}` |
//! | Box | `{"type": "error", "code": …, "message": …}` |
//! | Databricks | `{"error_code": …, "message": …}` |
//! | Snowflake SQL API | `{"code": …, "sqlState": …, "message": …}` |

use serde_json::Value;

/// The longest vendor text kept: enough to read, too short to carry a dump.
const MAX_TEXT: usize = 300;

/// Pointers to a human-readable message, most specific first.
const MESSAGES: &[&str] = &[
    "/error/message",
    "/error/reason",
    "/error_summary",
    "/errorMessages/0",
    "/0/message",
    "/message",
    "/Message",
    "/error",
    "/error_description",
    "/errors/0/msg",
];

/// Pointers to a machine-readable code, most specific first.
const CODES: &[&str] = &[
    "/error/code",
    "/error/type",
    "/error/.tag",
    "/0/errorCode",
    "/error_code",
    "/errorCode",
    "/code",
    "/error",
];

fn first_text(body: &Value, pointers: &[&str]) -> Option<String> {
    pointers.iter().find_map(|p| match body.pointer(p)? {
        Value::String(s) if !s.is_empty() => Some(s.chars().take(MAX_TEXT).collect()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// The vendor's error message in `body`, if it has one.
pub fn message(body: &Value) -> Option<String> {
    first_text(body, MESSAGES)
}

/// The vendor's error code in `body` (`itemNotFound`, `INVALID_SESSION_ID`,
/// `index_not_found_exception`), if it has one.
pub fn code(body: &Value) -> Option<String> {
    first_text(body, CODES)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_each_documented_shape() {
        // https://cloud.google.com/storage/docs/json_api/v1/status-codes
        let google = json!({"error": {"errors": [{"domain": "global", "reason": "required",
            "message": "Login Required", "locationType": "header", "location": "Authorization"}],
            "code": 401, "message": "Login Required"}});
        assert_eq!(message(&google).as_deref(), Some("Login Required"));
        assert_eq!(code(&google).as_deref(), Some("401"));
        // https://learn.microsoft.com/en-us/graph/errors
        let graph = json!({"error": {"code": "itemNotFound", "message": "Item not found",
            "innerError": {"request-id": "x", "date": "2024-01-01T00:00:00"}}});
        assert_eq!(
            (message(&graph).as_deref(), code(&graph).as_deref()),
            (Some("Item not found"), Some("itemNotFound"))
        );
        // https://www.elastic.co/guide/en/elasticsearch/reference/current/common-options.html
        let es = json!({"error": {"root_cause": [], "type": "index_not_found_exception",
            "reason": "no such index [x]", "index": "x"}, "status": 404});
        assert_eq!(
            (message(&es).as_deref(), code(&es).as_deref()),
            (Some("no such index [x]"), Some("index_not_found_exception"))
        );
        // https://developer.atlassian.com/cloud/jira/platform/rest/v2/intro/#status-codes
        let jira = json!({"errorMessages": ["No project could be found with key 'X'."], "errors": {}});
        assert_eq!(message(&jira).as_deref(), Some("No project could be found with key 'X'."));
        // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
        let sf = json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]);
        assert_eq!(
            (message(&sf).as_deref(), code(&sf).as_deref()),
            (Some("Session expired or invalid"), Some("INVALID_SESSION_ID"))
        );
        // https://api.slack.com/web#evaluating_responses
        let slack = json!({"ok": false, "error": "invalid_auth"});
        assert_eq!(
            (message(&slack).as_deref(), code(&slack).as_deref()),
            (Some("invalid_auth"), Some("invalid_auth"))
        );
        // https://www.dropbox.com/developers/documentation/http/documentation#error-handling
        let dropbox = json!({"error_summary": "path/not_found/..", "error": {".tag": "path", "path": {".tag": "not_found"}}});
        assert_eq!(
            (message(&dropbox).as_deref(), code(&dropbox).as_deref()),
            (Some("path/not_found/.."), Some("path"))
        );
        // https://developer.box.com/reference/resources/client-error/
        let boxed = json!({"type": "error", "status": 404, "code": "not_found", "message": "Not Found"});
        assert_eq!(
            (message(&boxed).as_deref(), code(&boxed).as_deref()),
            (Some("Not Found"), Some("not_found"))
        );
        // https://docs.databricks.com/api/workspace/files/listdirectorycontents
        let dbx = json!({"error_code": "NOT_FOUND", "message": "The directory does not exist"});
        assert_eq!(
            (message(&dbx).as_deref(), code(&dbx).as_deref()),
            (Some("The directory does not exist"), Some("NOT_FOUND"))
        );
    }

    #[test]
    fn long_text_is_cut_and_other_bodies_have_none() {
        let long = json!({"message": "x".repeat(1000)});
        assert_eq!(message(&long).map(|m| m.len()), Some(MAX_TEXT));
        assert_eq!(message(&json!({"ok": true})), None);
        assert_eq!(message(&json!("plain")), None);
    }
}
