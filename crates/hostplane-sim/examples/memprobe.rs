// Temporary probe: RSS per persistent hostplane-ssh session (not part of the deliverable).
use hostplane_ssh::{ConnectOptions, Credential, Session};
use std::time::Duration;
fn rss() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<f64>()
        .unwrap()
        / 1024.0
}
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let ctl = std::env::args().nth(2).unwrap_or_default();
    let mut sessions = Vec::new();
    let r0 = rss();
    let opts = ConnectOptions {
        port_wait: Duration::ZERO,
        ..Default::default()
    };
    let mut tasks = Vec::new();
    for i in 0..n {
        let opts = opts.clone();
        let ip = std::net::Ipv4Addr::from(
            u32::from(std::net::Ipv4Addr::new(127, 3, 0, 1)) + i as u32 + (i as u32 / 254) * 2,
        );
        let _ = &ctl;
        tasks.push(tokio::spawn(async move {
            let s = Session::connect(
                &ip.to_string(),
                2222,
                "root",
                &Credential::Password("password".into()),
                &opts,
            )
            .await
            .unwrap();
            s.touch_takeover_flag("/tmp/x").await.ok();
            s
        }));
        if tasks.len() >= 50 {
            for t in tasks.drain(..) {
                sessions.push(t.await.unwrap());
            }
        }
    }
    for t in tasks.drain(..) {
        sessions.push(t.await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let r1 = rss();
    println!(
        "{n} sessions: rss {r0:.1} -> {r1:.1} MiB, {:.1} KiB/session",
        (r1 - r0) * 1024.0 / n as f64
    );
}
