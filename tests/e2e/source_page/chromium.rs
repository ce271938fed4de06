//! A source's page in a real headless Chromium: sign in with the form,
//! follow the source's link from `/`, see both charts with points, and
//! keep a screenshot in `CARGO_TARGET_TMPDIR/source-page.png`. Skipped
//! with a printed reason without Chromium, failing under `CI=true`.

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::Locator;
use sonde_test_support::closed_port;

use crate::status_page::{KEY, Peer, browser, connect, start_chromedriver, start_sonde};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_chromium_a_source_page_shows_its_charts() {
    let Some((chromium, chromedriver)) = browser() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("plugins")).expect("plugins dir");
    let _peer = Peer::start();
    let port = closed_port();
    let _sonde = start_sonde(dir.path(), port, _peer.port);
    let driver_port = closed_port();
    let _driver = start_chromedriver(&chromedriver, driver_port);
    let client = connect(driver_port, &chromium, &dir.path().join("profile"), true).await;
    let base = format!("http://127.0.0.1:{port}");

    let run = async {
        client.goto(&format!("{base}/")).await.expect("open /");
        let key = client.find(Locator::Css("input[name=key]")).await.expect("the login form");
        key.send_keys(KEY).await.expect("type the key");
        client
            .find(Locator::Css("button[type=submit]"))
            .await
            .expect("button")
            .click()
            .await
            .expect("sign in");
        client.wait().for_element(Locator::Css("table#sources")).await.expect("the status page");
        // A few checks (every 300 ms) so the chart has points.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        client
            .find(Locator::Css(r#"tr[data-source="probe-me"] a[href^="/sources/"]"#))
            .await
            .expect("the source's link")
            .click()
            .await
            .expect("open its page");
        let day =
            client.wait().for_element(Locator::Css("#chart-24h svg.chart")).await.expect("the 24 h chart");
        let points: u32 =
            day.attr("data-points").await.expect("attr").and_then(|p| p.parse().ok()).unwrap_or(0);
        assert!(points >= 1, "no points on the chart");
        client.find(Locator::Css("#chart-7d svg.chart")).await.expect("the 7 d chart");
        client.find(Locator::Css("#history tr.check")).await.expect("the history");
        client.find(Locator::Css("#actions button")).await.expect("the admin buttons");
        let page = client.source().await.expect("page source");
        assert!(!page.contains(KEY), "the key is on the page");

        let png = client.screenshot().await.expect("screenshot");
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("source-page.png");
        std::fs::write(&path, &png).expect("write the screenshot");
        println!("screenshot: {}", path.display());
    };
    let outcome = tokio::time::timeout(Duration::from_secs(20), run).await;
    let _ = client.close().await;
    outcome.unwrap_or_else(|_| {
        let log = std::fs::read_to_string(dir.path().join("sonde.log")).unwrap_or_default();
        panic!("the browser test timed out; sonde's log:\n{log}")
    });
}
