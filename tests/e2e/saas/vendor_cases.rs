//! The documented request → response pairs a local vendor server must answer
//! for each SaaS probe (plugins/<type>), one table for all of them: the
//! success answer, and the vendor's own 401, 403, missing-resource and 429
//! answers, each with the outcome the probe must report.
//!
//! Every body is the vendor's documented shape (the `docs` URL beside each
//! case), never an answer of the live service: these are verified against
//! the vendors' documentation only (docs/probes-saas.md).
//!
//! In each `config`, `{base}` stands for the local server's base URL (the
//! probe's auth target). Cases whose config has no `{base}` (`zendesk`,
//! `snowflake`: their target is built from a subdomain or host name) need an
//! HTTPS server under that name, which the native runner
//! (`sonde_saas::cases`) skips and the end-to-end suite (`tests/e2e/saas`)
//! provides. The module needs nothing but `core`, so both take it as it is.

/// Cases whose status, headers and body shape the vendor documents, but
/// whose message text is ours, because the reference shows no example body
/// for that status (a local server may answer any text in that shape).
/// Every other body is the reference's own example, or its documented
/// schema filled with the reference's own words; an empty body is a status
/// documented without one.
pub const TEXT_NOT_FROM_DOCS: &[(&str, &str)] = &[
    ("confluence", "401"),
    ("confluence", "403"),
    ("confluence", "429"),
    ("jira", "403"),
    ("jira", "429"),
    ("zendesk", "403"),
    ("outlook", "403"),
    ("outlook", "missing mailbox"),
    ("dropbox", "403"),
    ("databricks_volumes", "401"),
    ("databricks_volumes", "missing volume"),
    ("opensearch", "429"),
    ("elasticsearch", "ok on serverless"),
];

/// One request the probe sends and the answer the server gives.
pub struct Exchange {
    pub method: &'static str,
    /// Path and query exactly as the probe sends them.
    pub path: &'static str,
    pub status: u16,
    pub headers: &'static [(&'static str, &'static str)],
    pub body: &'static str,
}

/// What the check reports.
pub enum Outcome {
    /// Healthy, with these `items` (if the probe reports some).
    Healthy(Option<u64>),
    /// Unhealthy, with this message and `extra.stage`.
    Unhealthy(&'static str, &'static str),
}

pub struct Case {
    pub source_type: &'static str,
    pub name: &'static str,
    pub config: &'static str,
    pub exchanges: &'static [Exchange],
    pub outcome: Outcome,
    pub docs: &'static str,
}

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
const RETRY: &[(&str, &str)] = &[("content-type", "application/json"), ("retry-after", "30")];

const fn x(method: &'static str, path: &'static str, status: u16, body: &'static str) -> Exchange {
    Exchange { method, path, status, headers: JSON, body }
}

const fn slow(method: &'static str, path: &'static str, body: &'static str) -> Exchange {
    Exchange { method, path, status: 429, headers: RETRY, body }
}

use Outcome::{Healthy, Unhealthy};

const AUTH: Outcome = Unhealthy("authentication failed", "auth");
const DENIED: Outcome = Unhealthy("permission denied", "permission");
const LIMITED: Outcome = Unhealthy("rate limited", "permission");

// Google Cloud Storage
const GCS: &str = r#"{"remote_url": "gs://docs/reports", "api_url": "{base}"}"#;
const GCS_LIST: &str = "/storage/v1/b/docs/o?maxResults=1&prefix=reports%2F&fields=items%28name%2Cupdated%29";
const GCS_DOCS: &str = "https://cloud.google.com/storage/docs/json_api/v1/status-codes";
// Google Drive
const DRIVE: &str = r#"{"drive_id": "0AExample", "api_url": "{base}"}"#;
const DRIVE_ABOUT: &str = "/drive/v3/about?fields=user";
const DRIVE_FILE: &str = "/drive/v3/files/0AExample?fields=id%2Cname%2CmimeType&supportsAllDrives=true";
const DRIVE_ME: &str = r#"{"user": {"kind": "drive#user", "displayName": "svc", "emailAddress": "svc@p.iam.gserviceaccount.com"}}"#;
const DRIVE_DOCS: &str = "https://developers.google.com/drive/api/guides/handle-errors";
// Microsoft Graph
const SHAREPOINT: &str = r#"{"site": "https://contoso.sharepoint.com/sites/Marketing", "client_id": "c", "tenant": "t", "graph_url": "{base}"}"#;
const SP_SITE: &str = "/v1.0/sites/contoso.sharepoint.com:/sites/Marketing?$select=id,displayName,webUrl";
const SP_SITE_BODY: &str = r#"{"id": "contoso.sharepoint.com,2C71,2D22", "displayName": "Marketing", "webUrl": "https://contoso.sharepoint.com/sites/Marketing"}"#;
const SP_DRIVES: &str = "/v1.0/sites/contoso.sharepoint.com%2C2C71%2C2D22/drives?$select=id,name";
const SP_ROOT: &str = "/v1.0/drives/b%211/root?$select=id,name,folder";
const ONEDRIVE: &str = r#"{"user_pname": "ada@contoso.com", "path": "Reports", "client_id": "c", "tenant": "t", "graph_url": "{base}"}"#;
const OD_DRIVE: &str = "/v1.0/users/ada%40contoso.com/drive?$select=id,driveType";
const OD_FOLDER: &str = "/v1.0/users/ada%40contoso.com/drive/root:/Reports?$select=id,name,folder";
const OUTLOOK: &str = r#"{"user_email": "ada@contoso.com", "outlook_folders": ["Inbox"], "client_id": "c", "tenant": "t", "graph_url": "{base}"}"#;
const OL_FOLDERS: &str =
    "/v1.0/users/ada%40contoso.com/mailFolders?$top=250&$select=displayName,totalItemCount";
const GRAPH_401: &str =
    r#"{"error": {"code": "unauthenticated", "message": "The caller is not authenticated."}}"#;
const GRAPH_403: &str = r#"{"error": {"code": "accessDenied", "message": "The caller does not have permission to perform the action."}}"#;
const GRAPH_404: &str =
    r#"{"error": {"code": "itemNotFound", "message": "The resource could not be found."}}"#;
const GRAPH_429: &str = r#"{"error": {"code": "TooManyRequests", "message": "Please retry again later."}}"#;
const GRAPH_DOCS: &str = "https://learn.microsoft.com/en-us/graph/errors";
// Atlassian
const CONFLUENCE: &str = r#"{"url": "{base}", "cloud": true, "spaces": ["DOCS"]}"#;
const CF_ME: &str = "/wiki/rest/api/user/current";
const CF_ME_BODY: &str =
    r#"{"type": "known", "accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof"}"#;
const CF_SPACE: &str = "/wiki/rest/api/space/DOCS";
const CF_DOCS: &str = "https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-space/#api-wiki-rest-api-space-spacekey-get";
const JIRA: &str = r#"{"url": "{base}", "projects": ["PROJ"]}"#;
const JIRA_ME: &str = "/rest/api/2/myself";
const JIRA_ME_BODY: &str =
    r#"{"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof", "active": true}"#;
const JIRA_PROJECT: &str = "/rest/api/2/project/PROJ";
const JIRA_DOCS: &str = "https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-projects/#api-rest-api-2-project-projectidorkey-get";
// Salesforce
const SALESFORCE: &str = r#"{"instance_url": "{base}", "categories": ["Account"]}"#;
const SF_ACCOUNT: &str = "/services/data/v60.0/sobjects/Account";
const SF_DOCS: &str =
    "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm";
// Slack
const SLACK: &str = r#"{"channels": ["C0123"], "api_url": "{base}"}"#;
const SLACK_AUTH: &str = "/api/auth.test";
const SLACK_INFO: &str = "/api/conversations.info?channel=C0123";
const SLACK_ME: &str = r#"{"ok": true, "url": "https://subarachnoid.slack.com/", "team": "Subarachnoid Workspace", "user": "grace", "team_id": "T12345678", "user_id": "W12345678"}"#;
const SLACK_DOCS: &str = "https://api.slack.com/methods/auth.test";
// Zendesk (target https://acme.zendesk.com: an HTTPS server under that name)
const ZENDESK: &str = r#"{"subdomain": "acme", "email": "ada@example.com"}"#;
const ZD_ME: &str = "/api/v2/users/me.json";
const ZD_COUNT: &str = "/api/v2/tickets/count.json";
const ZD_DOCS: &str = "https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#count-tickets";
const ZD_RATE_DOCS: &str = "https://developer.zendesk.com/api-reference/introduction/rate-limits";
// Box
const BOX: &str = r#"{"remote_url": "box://Contracts", "api_url": "{base}"}"#;
const BOX_ROOT: &str = "/2.0/folders/0/items?fields=id%2Ctype%2Cname&limit=1000";
const BOX_ROOT_BODY: &str = r#"{"entries": [{"id": "12345", "etag": "1", "type": "folder", "sequence_id": "3", "name": "Contracts"}], "limit": 1000, "offset": 0, "total_count": 1}"#;
const BOX_FOLDER: &str = "/2.0/folders/12345?fields=id%2Cname%2Citem_collection";
const BOX_DOCS: &str = "https://developer.box.com/reference/resources/client-error/";
// Dropbox
const DROPBOX: &str = r#"{"remote_url": "dropbox://Homework/math", "api_url": "{base}"}"#;
const DBX_LIST: &str = "/2/files/list_folder";
const DBX_DOCS: &str = "https://www.dropbox.com/developers/documentation/http/documentation#error-handling";
// Databricks
const DATABRICKS: &str = r#"{"host": "{base}", "catalog": "main", "volume": "docs"}"#;
const DB_DIR: &str = "/api/2.0/fs/directories/Volumes/main/default/docs?page_size=100";
const DB_DOCS: &str = "https://docs.databricks.com/api/workspace/files/listdirectorycontents";
// Snowflake (target https://acme.snowflakecomputing.com: an HTTPS server under that name)
const SNOWFLAKE: &str = r#"{"host": "acme.snowflakecomputing.com", "database": "DB", "schema": "PUBLIC", "table_name": "ELEMENTS"}"#;
const SNOW_SQL: &str = "/api/v2/statements";
const SNOW_DOCS: &str = "https://docs.snowflake.com/en/developer-guide/sql-api/reference";
// Couchbase
const COUCHBASE: &str =
    r#"{"bucket": "travel-sample", "scope": "inventory", "collection": "airline", "rest_url": "{base}"}"#;
const CB_BUCKET: &str = "/pools/default/buckets/travel-sample";
const CB_SCOPES: &str = "/pools/default/buckets/travel-sample/scopes";
const CB_DOCS: &str = "https://docs.couchbase.com/server/current/rest-api/rest-buckets-summary.html";
// Elasticsearch and OpenSearch
const SEARCH: &str = r#"{"hosts": ["{base}"], "index_name": "docs"}"#;
const SEARCH_EXPECT: &str =
    r#"{"hosts": ["{base}"], "index_name": "docs", "expect": {"rows": {"min": 100}}}"#;
const HEALTH: &str = "/_cluster/health";
const HEALTH_BODY: &str =
    r#"{"cluster_name": "testcluster", "status": "green", "timed_out": false, "number_of_nodes": 1}"#;
const COUNT: &str = "/docs/_count";
const COUNT_BODY: &str =
    r#"{"count": 42, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}"#;
const ES_401: &str = r#"{"error": {"root_cause": [{"type": "security_exception", "reason": "unable to authenticate with provided credentials and anonymous access is not allowed for this request"}], "type": "security_exception", "reason": "unable to authenticate with provided credentials and anonymous access is not allowed for this request"}, "status": 401}"#;
const ES_404: &str = r#"{"error": {"root_cause": [{"type": "index_not_found_exception", "reason": "no such index [docs]", "index": "docs"}], "type": "index_not_found_exception", "reason": "no such index [docs]", "index": "docs"}, "status": 404}"#;
const ES_403: &str = r#"{"error": {"type": "security_exception", "reason": "action [indices:data/read/search] is unauthorized"}, "status": 403}"#;
const ES_DOCS: &str = "https://www.elastic.co/guide/en/elasticsearch/reference/current/search-count.html";
const OS_DOCS: &str = "https://opensearch.org/docs/latest/api-reference/count/";

macro_rules! cases {
    ($($t:literal $n:literal $config:ident [$($e:expr),*] $outcome:expr, $docs:ident;)*) => {
        &[$(Case { source_type: $t, name: $n, config: $config, exchanges: &[$($e),*], outcome: $outcome, docs: $docs }),*]
    };
}

/// Every case, grouped by source type.
pub const CASES: &[Case] = cases![
    "gcs" "ok" GCS [x("GET", GCS_LIST, 200, r#"{"kind": "storage#objects", "items": [{"name": "reports/a.pdf", "updated": "2024-05-01T10:00:00.000Z"}]}"#)] Healthy(None), GCS_DOCS;
    "gcs" "401" GCS [x("GET", GCS_LIST, 401, r#"{"error": {"errors": [{"domain": "global", "reason": "required", "message": "Login Required", "locationType": "header", "location": "Authorization"}], "code": 401, "message": "Login Required"}}"#)] AUTH, GCS_DOCS;
    "gcs" "403" GCS [x("GET", GCS_LIST, 403, r#"{"error": {"errors": [{"domain": "global", "reason": "forbidden", "message": "Forbidden"}], "code": 403, "message": "Forbidden"}}"#)] DENIED, GCS_DOCS;
    "gcs" "missing bucket" GCS [x("GET", GCS_LIST, 404, r#"{"error": {"errors": [{"domain": "global", "reason": "notFound", "message": "Not Found"}], "code": 404, "message": "Not Found"}}"#)] Unhealthy("bucket does not exist", "resource"), GCS_DOCS;
    "gcs" "429" GCS [slow("GET", GCS_LIST, r#"{"error": {"errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded", "message": "The total number of changes to the object exceeds the rate limit."}], "code": 429, "message": "The total number of changes to the object exceeds the rate limit."}}"#)] LIMITED, GCS_DOCS;
    "google_drive" "ok" DRIVE [x("GET", DRIVE_ABOUT, 200, DRIVE_ME), x("GET", DRIVE_FILE, 200, r#"{"id": "0AExample", "name": "Team", "mimeType": "application/vnd.google-apps.folder"}"#)] Healthy(None), DRIVE_DOCS;
    "google_drive" "401" DRIVE [x("GET", DRIVE_ABOUT, 401, r#"{"error": {"errors": [{"domain": "global", "reason": "authError", "message": "Invalid Credentials", "locationType": "header", "location": "Authorization"}], "code": 401, "message": "Invalid Credentials"}}"#)] AUTH, DRIVE_DOCS;
    "google_drive" "403" DRIVE [x("GET", DRIVE_ABOUT, 200, DRIVE_ME), x("GET", DRIVE_FILE, 403, r#"{"error": {"errors": [{"domain": "global", "reason": "insufficientFilePermissions", "message": "The user does not have sufficient permissions for file {fileId}."}], "code": 403, "message": "The user does not have sufficient permissions for file {fileId}."}}"#)] DENIED, DRIVE_DOCS;
    "google_drive" "missing drive" DRIVE [x("GET", DRIVE_ABOUT, 200, DRIVE_ME), x("GET", DRIVE_FILE, 404, r#"{"error": {"errors": [{"domain": "global", "reason": "notFound", "message": "File not found: {fileId}.", "locationType": "parameter", "location": "fileId"}], "code": 404, "message": "File not found: {fileId}."}}"#)] Unhealthy("drive does not exist", "resource"), DRIVE_DOCS;
    "google_drive" "429" DRIVE [slow("GET", DRIVE_ABOUT, r#"{"error": {"errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded", "message": "Rate Limit Exceeded"}], "code": 429, "message": "Rate Limit Exceeded"}}"#)] LIMITED, DRIVE_DOCS;
    "sharepoint" "ok" SHAREPOINT [x("GET", SP_SITE, 200, SP_SITE_BODY), x("GET", SP_DRIVES, 200, r#"{"value": [{"id": "b!1", "name": "Documents"}]}"#), x("GET", SP_ROOT, 200, r#"{"id": "01", "name": "root", "folder": {"childCount": 7}}"#)] Healthy(Some(7)), GRAPH_DOCS;
    "sharepoint" "401" SHAREPOINT [x("GET", SP_SITE, 401, GRAPH_401)] AUTH, GRAPH_DOCS;
    "sharepoint" "403" SHAREPOINT [x("GET", SP_SITE, 403, GRAPH_403)] DENIED, GRAPH_DOCS;
    "sharepoint" "missing site" SHAREPOINT [x("GET", SP_SITE, 404, GRAPH_404)] Unhealthy("site does not exist", "resource"), GRAPH_DOCS;
    "sharepoint" "missing library" SHAREPOINT [x("GET", SP_SITE, 200, SP_SITE_BODY), x("GET", SP_DRIVES, 200, r#"{"value": [{"id": "b!2", "name": "Shared"}]}"#)] Unhealthy("library does not exist", "resource"), GRAPH_DOCS;
    "sharepoint" "429" SHAREPOINT [slow("GET", SP_SITE, GRAPH_429)] LIMITED, GRAPH_DOCS;
    "onedrive" "ok" ONEDRIVE [x("GET", OD_DRIVE, 200, r#"{"id": "b!d", "driveType": "business"}"#), x("GET", OD_FOLDER, 200, r#"{"id": "01", "name": "Reports", "folder": {"childCount": 3}}"#)] Healthy(Some(3)), GRAPH_DOCS;
    "onedrive" "401" ONEDRIVE [x("GET", OD_DRIVE, 401, GRAPH_401)] AUTH, GRAPH_DOCS;
    "onedrive" "403" ONEDRIVE [x("GET", OD_DRIVE, 403, GRAPH_403)] DENIED, GRAPH_DOCS;
    "onedrive" "missing path" ONEDRIVE [x("GET", OD_DRIVE, 200, r#"{"id": "b!d", "driveType": "business"}"#), x("GET", OD_FOLDER, 404, GRAPH_404)] Unhealthy("path does not exist", "resource"), GRAPH_DOCS;
    "onedrive" "429" ONEDRIVE [slow("GET", OD_DRIVE, GRAPH_429)] LIMITED, GRAPH_DOCS;
    "outlook" "ok" OUTLOOK [x("GET", OL_FOLDERS, 200, r#"{"value": [{"displayName": "Inbox", "totalItemCount": 71}, {"displayName": "Archive", "totalItemCount": 0}]}"#)] Healthy(Some(71)), GRAPH_DOCS;
    "outlook" "401" OUTLOOK [x("GET", OL_FOLDERS, 401, GRAPH_401)] AUTH, GRAPH_DOCS;
    "outlook" "403" OUTLOOK [x("GET", OL_FOLDERS, 403, r#"{"error": {"code": "ErrorAccessDenied", "message": "Access is denied. Check credentials and try again."}}"#)] DENIED, GRAPH_DOCS;
    "outlook" "missing mailbox" OUTLOOK [x("GET", OL_FOLDERS, 404, r#"{"error": {"code": "ErrorItemNotFound", "message": "The specified object was not found in the store."}}"#)] Unhealthy("mailbox does not exist", "resource"), GRAPH_DOCS;
    "outlook" "missing folder" OUTLOOK [x("GET", OL_FOLDERS, 200, r#"{"value": [{"displayName": "Archive", "totalItemCount": 0}]}"#)] Unhealthy("folder does not exist", "resource"), GRAPH_DOCS;
    "outlook" "429" OUTLOOK [slow("GET", OL_FOLDERS, GRAPH_429)] LIMITED, GRAPH_DOCS;
    "confluence" "ok" CONFLUENCE [x("GET", CF_ME, 200, CF_ME_BODY), x("GET", CF_SPACE, 200, r#"{"id": 1, "key": "DOCS", "name": "Docs", "type": "global", "status": "current"}"#)] Healthy(Some(1)), CF_DOCS;
    "confluence" "401" CONFLUENCE [x("GET", CF_ME, 401, r#"{"statusCode": 401, "message": "Client must be authenticated to access this resource."}"#)] AUTH, CF_DOCS;
    "confluence" "403" CONFLUENCE [x("GET", CF_ME, 200, CF_ME_BODY), x("GET", CF_SPACE, 403, r#"{"statusCode": 403, "message": "Current user not permitted to use Confluence"}"#)] DENIED, CF_DOCS;
    "confluence" "missing space" CONFLUENCE [x("GET", CF_ME, 200, CF_ME_BODY), x("GET", CF_SPACE, 404, r#"{"statusCode": 404, "message": "No space with key : DOCS"}"#)] Unhealthy("space does not exist", "resource"), CF_DOCS;
    "confluence" "429" CONFLUENCE [slow("GET", CF_ME, r#"{"statusCode": 429, "message": "Rate limit exceeded"}"#)] LIMITED, CF_DOCS;
    "jira" "ok" JIRA [x("GET", JIRA_ME, 200, JIRA_ME_BODY), x("GET", JIRA_PROJECT, 200, r#"{"id": "10000", "key": "PROJ", "name": "Project"}"#)] Healthy(Some(1)), JIRA_DOCS;
    "jira" "401" JIRA [x("GET", JIRA_ME, 401, r#"{"errorMessages": ["You are not authenticated. Authentication required to perform this operation."], "errors": {}}"#)] AUTH, JIRA_DOCS;
    "jira" "403" JIRA [x("GET", JIRA_ME, 200, JIRA_ME_BODY), x("GET", JIRA_PROJECT, 403, r#"{"errorMessages": ["You do not have permission to view this project."], "errors": {}}"#)] DENIED, JIRA_DOCS;
    "jira" "missing project" JIRA [x("GET", JIRA_ME, 200, JIRA_ME_BODY), x("GET", JIRA_PROJECT, 404, r#"{"errorMessages": ["No project could be found with key 'PROJ'."], "errors": {}}"#)] Unhealthy("project does not exist", "resource"), JIRA_DOCS;
    "jira" "429" JIRA [slow("GET", JIRA_ME, r#"{"errorMessages": ["Rate limit exceeded."], "errors": {}}"#)] LIMITED, JIRA_DOCS;
    "salesforce" "ok" SALESFORCE [x("GET", SF_ACCOUNT, 200, r#"{"objectDescribe": {"name": "Account", "label": "Account", "queryable": true}, "recentItems": []}"#)] Healthy(Some(1)), SF_DOCS;
    "salesforce" "401" SALESFORCE [x("GET", SF_ACCOUNT, 401, r#"[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]"#)] AUTH, SF_DOCS;
    "salesforce" "403" SALESFORCE [x("GET", SF_ACCOUNT, 403, r#"[{"message": "The REST API is not enabled for this Organization.", "errorCode": "API_DISABLED_FOR_ORG"}]"#)] DENIED, SF_DOCS;
    "salesforce" "missing category" SALESFORCE [x("GET", SF_ACCOUNT, 404, r#"[{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]"#)] Unhealthy("category does not exist", "resource"), SF_DOCS;
    "salesforce" "api limit" SALESFORCE [x("GET", SF_ACCOUNT, 403, r#"[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]"#)] LIMITED, SF_DOCS;
    "slack" "ok" SLACK [x("POST", SLACK_AUTH, 200, SLACK_ME), x("GET", SLACK_INFO, 200, r#"{"ok": true, "channel": {"id": "C0123", "name": "general", "is_channel": true}}"#)] Healthy(Some(1)), SLACK_DOCS;
    "slack" "invalid_auth" SLACK [x("POST", SLACK_AUTH, 200, r#"{"ok": false, "error": "invalid_auth"}"#)] AUTH, SLACK_DOCS;
    "slack" "missing_scope" SLACK [x("POST", SLACK_AUTH, 200, SLACK_ME), x("GET", SLACK_INFO, 200, r#"{"ok": false, "error": "missing_scope", "needed": "channels:read", "provided": "chat:write"}"#)] DENIED, SLACK_DOCS;
    "slack" "missing channel" SLACK [x("POST", SLACK_AUTH, 200, SLACK_ME), x("GET", SLACK_INFO, 200, r#"{"ok": false, "error": "channel_not_found"}"#)] Unhealthy("channel does not exist", "resource"), SLACK_DOCS;
    "slack" "429" SLACK [slow("POST", SLACK_AUTH, r#"{"ok": false, "error": "ratelimited"}"#)] LIMITED, SLACK_DOCS;
    "zendesk" "ok" ZENDESK [x("GET", ZD_ME, 200, r#"{"user": {"id": 35436, "name": "Ada", "role": "admin"}}"#), x("GET", ZD_COUNT, 200, r#"{"count": {"refreshed_at": "2020-04-06T02:18:17Z", "value": 102}}"#)] Healthy(Some(102)), ZD_DOCS;
    "zendesk" "401" ZENDESK [x("GET", ZD_ME, 401, r#"{"error": "Couldn't authenticate you"}"#)] AUTH, ZD_DOCS;
    "zendesk" "403" ZENDESK [x("GET", ZD_ME, 200, r#"{"user": {"id": 35436, "name": "Ada", "role": "end-user"}}"#), x("GET", ZD_COUNT, 403, r#"{"error": "Forbidden", "description": "You do not have access to this page."}"#)] DENIED, ZD_DOCS;
    "zendesk" "429" ZENDESK [slow("GET", ZD_ME, "")] LIMITED, ZD_RATE_DOCS;
    "box" "ok" BOX [x("GET", BOX_ROOT, 200, BOX_ROOT_BODY), x("GET", BOX_FOLDER, 200, r#"{"id": "12345", "type": "folder", "name": "Contracts", "item_collection": {"total_count": 24, "entries": []}}"#)] Healthy(Some(24)), BOX_DOCS;
    "box" "401" BOX [x("GET", BOX_ROOT, 401, "")] AUTH, BOX_DOCS;
    "box" "403" BOX [x("GET", BOX_ROOT, 200, BOX_ROOT_BODY), x("GET", BOX_FOLDER, 403, r#"{"type": "error", "status": 403, "code": "access_denied_insufficient_permissions", "message": "Access denied - insufficient permission"}"#)] DENIED, BOX_DOCS;
    "box" "missing folder" BOX [x("GET", BOX_ROOT, 200, r#"{"entries": [], "limit": 1000, "offset": 0, "total_count": 0}"#)] Unhealthy("folder does not exist", "resource"), BOX_DOCS;
    "box" "429" BOX [slow("GET", BOX_ROOT, r#"{"type": "error", "status": 429, "code": "rate_limit_exceeded", "message": "Request rate limit exceeded, please try again later"}"#)] LIMITED, BOX_DOCS;
    "dropbox" "ok" DROPBOX [x("POST", DBX_LIST, 200, r#"{"entries": [{".tag": "file", "name": "Prime_Numbers.txt", "id": "id:a4ayc_80_OEAAAAAAAAAXw", "path_lower": "/homework/math/prime_numbers.txt", "path_display": "/Homework/math/Prime_Numbers.txt", "size": 7212}], "cursor": "ZtkX9_EHj3x7PMkVuFIhwKYXEpwpLwyxp9vMKomUhllil9q7eWiAu", "has_more": true}"#)] Healthy(None), DBX_DOCS;
    "dropbox" "401" DROPBOX [x("POST", DBX_LIST, 401, r#"{"error_summary": "invalid_access_token/...", "error": {".tag": "invalid_access_token"}}"#)] AUTH, DBX_DOCS;
    "dropbox" "403" DROPBOX [x("POST", DBX_LIST, 403, r#"{"error_summary": "team_access_denied/..", "error": {".tag": "team_access_denied"}}"#)] DENIED, DBX_DOCS;
    "dropbox" "missing folder" DROPBOX [x("POST", DBX_LIST, 409, r#"{"error_summary": "path/not_found/..", "error": {".tag": "path", "path": {".tag": "not_found"}}}"#)] Unhealthy("folder does not exist", "resource"), DBX_DOCS;
    "dropbox" "429" DROPBOX [slow("POST", DBX_LIST, r#"{"error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 30}}"#)] LIMITED, DBX_DOCS;
    "databricks_volumes" "ok" DATABRICKS [x("GET", DB_DIR, 200, r#"{"contents": [{"path": "/Volumes/main/default/docs/a.pdf", "is_directory": false, "file_size": 10, "last_modified": 1700000000000, "name": "a.pdf"}]}"#)] Healthy(None), DB_DOCS;
    "databricks_volumes" "401" DATABRICKS [x("GET", DB_DIR, 401, r#"{"error_code": "UNAUTHENTICATED", "message": "Credential was not sent or was of an unsupported type for this API."}"#)] AUTH, DB_DOCS;
    "databricks_volumes" "403" DATABRICKS [x("GET", DB_DIR, 403, r#"{"error_code": "PERMISSION_DENIED", "message": "User does not have READ VOLUME on Volume 'main.default.docs'."}"#)] DENIED, DB_DOCS;
    "databricks_volumes" "missing volume" DATABRICKS [x("GET", DB_DIR, 404, r#"{"error_code": "NOT_FOUND", "message": "The directory being accessed is not found."}"#)] Unhealthy("volume does not exist", "resource"), DB_DOCS;
    "databricks_volumes" "429" DATABRICKS [slow("GET", DB_DIR, r#"{"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Too many requests."}"#)] LIMITED, DB_DOCS;
    "snowflake" "ok" SNOWFLAKE [x("POST", SNOW_SQL, 200, r#"{"resultSetMetaData": {"numRows": 1, "format": "jsonv2", "rowType": [{"name": "COUNT(*)", "type": "fixed"}]}, "data": [["102"]], "code": "090001", "sqlState": "00000", "statementHandle": "h", "message": "Statement executed successfully."}"#)] Healthy(Some(102)), SNOW_DOCS;
    "snowflake" "401" SNOWFLAKE [x("POST", SNOW_SQL, 401, "")] AUTH, SNOW_DOCS;
    "snowflake" "403" SNOWFLAKE [x("POST", SNOW_SQL, 403, "")] DENIED, SNOW_DOCS;
    "snowflake" "missing table" SNOWFLAKE [x("POST", SNOW_SQL, 422, r#"{"code": "002003", "sqlState": "42S02", "message": "SQL compilation error:\nObject 'DB.PUBLIC.ELEMENTS' does not exist or not authorized.", "statementHandle": "h"}"#)] Unhealthy("table does not exist", "resource"), SNOW_DOCS;
    "snowflake" "429" SNOWFLAKE [slow("POST", SNOW_SQL, "")] LIMITED, SNOW_DOCS;
    "couchbase" "ok" COUCHBASE [x("GET", CB_BUCKET, 200, r#"{"name": "travel-sample", "bucketType": "membase", "basicStats": {"itemCount": 63288}}"#), x("GET", CB_SCOPES, 200, r#"{"uid": "8", "scopes": [{"name": "inventory", "uid": "8", "collections": [{"name": "airline", "uid": "8", "maxTTL": 0}]}]}"#)] Healthy(Some(63288)), CB_DOCS;
    "couchbase" "401" COUCHBASE [x("GET", CB_BUCKET, 401, "")] AUTH, CB_DOCS;
    "couchbase" "403" COUCHBASE [x("GET", CB_BUCKET, 403, r#"{"message": "Forbidden. User needs the following permissions", "permissions": ["cluster.bucket[travel-sample].settings!read"]}"#)] DENIED, CB_DOCS;
    "couchbase" "missing bucket" COUCHBASE [x("GET", CB_BUCKET, 404, "Requested resource not found.\r\n")] Unhealthy("bucket does not exist", "resource"), CB_DOCS;
    "couchbase" "missing collection" COUCHBASE [x("GET", CB_BUCKET, 200, r#"{"name": "travel-sample", "basicStats": {"itemCount": 1}}"#), x("GET", CB_SCOPES, 200, r#"{"uid": "8", "scopes": [{"name": "inventory", "uid": "8", "collections": []}]}"#)] Unhealthy("collection does not exist", "resource"), CB_DOCS;
    "elasticsearch" "ok" SEARCH [x("GET", HEALTH, 200, HEALTH_BODY), x("GET", COUNT, 200, COUNT_BODY)] Healthy(Some(42)), ES_DOCS;
    "elasticsearch" "ok without monitor" SEARCH [x("GET", HEALTH, 403, ES_403), x("GET", COUNT, 200, COUNT_BODY)] Healthy(Some(42)), ES_DOCS;
    "elasticsearch" "ok on serverless" SEARCH [x("GET", HEALTH, 410, r#"{"error": {"root_cause": [{"type": "api_not_available_exception", "reason": "Request for uri [/_cluster/health] with method [GET] exists but is not available when running in serverless mode"}], "type": "api_not_available_exception", "reason": "Request for uri [/_cluster/health] with method [GET] exists but is not available when running in serverless mode"}, "status": 410}"#), x("GET", COUNT, 200, COUNT_BODY)] Healthy(Some(42)), ES_DOCS;
    "elasticsearch" "too few documents" SEARCH_EXPECT [x("GET", HEALTH, 200, HEALTH_BODY), x("GET", COUNT, 200, COUNT_BODY)] Unhealthy("assertion failed", "assertion"), ES_DOCS;
    "elasticsearch" "401" SEARCH [x("GET", HEALTH, 401, ES_401)] AUTH, ES_DOCS;
    "elasticsearch" "403" SEARCH [x("GET", HEALTH, 200, HEALTH_BODY), x("GET", COUNT, 403, ES_403)] DENIED, ES_DOCS;
    "elasticsearch" "missing index" SEARCH [x("GET", HEALTH, 200, HEALTH_BODY), x("GET", COUNT, 404, ES_404)] Unhealthy("index does not exist", "resource"), ES_DOCS;
    "elasticsearch" "429" SEARCH [slow("GET", HEALTH, r#"{"error": {"type": "es_rejected_execution_exception", "reason": "rejected execution"}, "status": 429}"#)] LIMITED, ES_DOCS;
    "opensearch" "ok" SEARCH [x("GET", HEALTH, 200, HEALTH_BODY), x("GET", COUNT, 200, COUNT_BODY)] Healthy(Some(42)), OS_DOCS;
    "opensearch" "401" SEARCH [x("GET", HEALTH, 401, "Unauthorized")] AUTH, OS_DOCS;
    "opensearch" "403" SEARCH [x("GET", HEALTH, 200, HEALTH_BODY), x("GET", COUNT, 403, r#"{"error": {"root_cause": [{"type": "security_exception", "reason": "no permissions for [indices:data/read/search] and User [name=ada]"}], "type": "security_exception", "reason": "no permissions for [indices:data/read/search] and User [name=ada]"}, "status": 403}"#)] DENIED, OS_DOCS;
    "opensearch" "missing index" SEARCH [x("GET", HEALTH, 200, HEALTH_BODY), x("GET", COUNT, 404, ES_404)] Unhealthy("index does not exist", "resource"), OS_DOCS;
    "opensearch" "429" SEARCH [slow("GET", HEALTH, r#"{"error": {"type": "rejected_execution_exception", "reason": "rejected execution"}, "status": 429}"#)] LIMITED, OS_DOCS;
];
