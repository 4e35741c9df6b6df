//! Zones and clusters: create, query, update, state, delete, with ZStack's validation.

use reqwest::Method;
use serde_json::json;

use super::common::{assert_error, Db, Env};

fn zone_lifecycle(db: Db) {
    let env = Env::start(db);
    let api = &env.api;
    // Trimmed, stored, shown with ZStack's fields.
    let r = api.post(
        "/zones",
        json!({"name": "  zone one ", "description": "d", "isDefault": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let z = &r.body["inventory"];
    assert_eq!(z["name"], "zone one");
    assert_eq!(
        (
            z["state"].as_str(),
            z["type"].as_str(),
            z["isDefault"].as_bool()
        ),
        (Some("Enabled"), Some("zstack"), Some(true))
    );
    let uuid = z["uuid"].as_str().unwrap();
    // A second default zone clears the first one's flag.
    let z2 = api
        .post("/zones", json!({"name": "zone two", "isDefault": true}))
        .body["inventory"]
        .clone();
    assert_eq!(
        api.query(&format!("/zones/{uuid}"))["inventories"][0]["isDefault"],
        false
    );
    assert_eq!(
        api.query("/zones?q=isDefault=true")["inventories"][0]["uuid"],
        z2["uuid"]
    );
    // Update and state.
    let r = api.action(
        &format!("/zones/{uuid}/actions"),
        "updateZone",
        json!({"name": "renamed", "description": "new"}),
    );
    assert_eq!(r.body["inventory"]["name"], "renamed");
    let r = api.action(
        &format!("/zones/{uuid}/actions"),
        "changeZoneState",
        json!({"stateEvent": "disable"}),
    );
    assert_eq!(r.body["inventory"]["state"], "Disabled");
    // GET /zones/{uuid} ignores other parameters and answers a list; a miss is an empty list.
    let body = api.query(&format!("/zones/{uuid}?q=name=nomatch&limit=0"));
    assert_eq!(body["inventories"].as_array().unwrap().len(), 1);
    assert_eq!(
        api.query("/zones/0123456789abcdef0123456789abcdef"),
        json!({"inventories": [], "schema": {}})
    );
    // Delete: gone; deleting again (missing, well-formed uuid) succeeds.
    assert_eq!(api.delete(&format!("/zones/{uuid}")).body, json!({}));
    assert_eq!(
        api.query(&format!("/zones/{uuid}"))["inventories"],
        json!([])
    );
    assert_eq!(api.delete(&format!("/zones/{uuid}")).status, 200);
    // A malformed uuid is SYS.1003.
    assert_error(&api.delete("/zones/not-a-uuid"), 503, "SYS.1003");
    // With X-JSON-Schema a delete's result is {"schema": {}}.
    let r = api.send(
        Method::DELETE,
        &format!("/zstack/v1/zones/{}", z2["uuid"].as_str().unwrap()),
        None,
        &[],
    );
    let done = api.send(
        Method::GET,
        &r.body["location"]
            .as_str()
            .unwrap()
            .replace(&env.server.base, ""),
        None,
        &[("X-JSON-Schema", "true")],
    );
    let done = if done.status == 202 {
        api.poll(r.body["location"].as_str().unwrap())
    } else {
        done
    };
    assert_eq!(done.status, 200);
}

fn zone_validation(db: Db) {
    let env = Env::start(db);
    let api = &env.api;
    assert_error(&api.post("/zones", json!({})), 503, "SYS.1007");
    assert_error(
        &api.post("/zones", json!({"name": "x".repeat(256)})),
        503,
        "SYS.1007",
    );
    assert_error(
        &api.post("/zones", json!({"name": "bad/name"})),
        503,
        "SYS.1007",
    );
    assert_error(
        &api.post(
            "/zones",
            json!({"name": "z", "description": "d".repeat(2049)}),
        ),
        503,
        "SYS.1007",
    );
    assert_error(
        &api.post("/zones", json!({"name": "z", "resourceUuid": "NOT-A-UUID"})),
        503,
        "SYS.1007",
    );
    let r = api.post(
        "/zones",
        json!({"name": "z", "systemTags": ["host::reservedMemory::1G"]}),
    );
    assert_error(&r, 503, "SYS.1000"); // CreateZone has no @TagResourceType
    assert_eq!(
        api.query("/zones?count=true")["total"],
        0,
        "nothing half-written"
    );
    // A given resourceUuid is used; reusing it is refused cleanly.
    let ru = "1c2a0d9b1e4c4c3fa1b2c3d4e5f60718";
    assert_eq!(
        api.post("/zones", json!({"name": "z", "resourceUuid": ru}))
            .body["inventory"]["uuid"],
        ru
    );
    assert_error(
        &api.post("/zones", json!({"name": "z2", "resourceUuid": ru})),
        503,
        "SYS.1007",
    );
    // Chinese names and the other allowed characters.
    assert_eq!(
        api.post("/zones", json!({"name": "区域 (a):b+c\"d\"_e.f-g"}))
            .status,
        200
    );
    // User tags on create.
    let r = api.post("/zones", json!({"name": "tagged", "userTags": ["prod"]}));
    assert_eq!(r.status, 200);
    assert_eq!(
        api.query("/zones?q=__userTag__=prod")["inventories"][0]["name"],
        "tagged"
    );
}

fn cluster_lifecycle(db: Db) {
    let env = Env::start(db);
    let api = &env.api;
    let zone = api.create_zone("z");
    let zu = zone["uuid"].as_str().unwrap();
    let r = api.post("/clusters", json!({"name": "c1", "zoneUuid": zu, "hypervisorType": "KVM", "architecture": "x86_64", "systemTags": ["check::cluster::cpu::model::true"]}));
    assert_eq!(r.status, 200, "{}", r.text);
    let c = &r.body["inventory"];
    assert_eq!(
        (
            c["hypervisorType"].as_str(),
            c["type"].as_str(),
            c["state"].as_str(),
            c["architecture"].as_str()
        ),
        (Some("KVM"), Some("zstack"), Some("Enabled"), Some("x86_64"))
    );
    assert_eq!(c["zoneUuid"], zu);
    let cu = c["uuid"].as_str().unwrap();
    assert_eq!(
        api.query("/clusters?q=__systemTag__=check::cluster::cpu::model::true")["inventories"][0]
            ["uuid"],
        cu
    );
    assert_eq!(
        api.query("/clusters?q=zone.name=z")["inventories"][0]["uuid"],
        cu
    );
    assert_eq!(
        api.query("/zones?q=cluster.name=c1")["inventories"][0]["uuid"],
        zu
    );
    let r = api.action(
        &format!("/clusters/{cu}/actions"),
        "updateCluster",
        json!({"name": "c2"}),
    );
    assert_eq!(r.body["inventory"]["name"], "c2");
    let r = api.action(
        &format!("/clusters/{cu}/actions"),
        "changeClusterState",
        json!({"stateEvent": "disable"}),
    );
    assert_eq!(r.body["inventory"]["state"], "Disabled");
    // Deleting the zone cascades to the cluster.
    assert_eq!(api.delete(&format!("/zones/{zu}")).status, 200);
    assert_eq!(api.query("/clusters?count=true")["total"], 0);
    assert_eq!(
        api.delete(&format!("/clusters/{cu}")).status,
        200,
        "a missing cluster deletes fine"
    );
}

fn cluster_validation(db: Db) {
    let env = Env::start(db);
    let api = &env.api;
    let zu = api.create_zone("z")["uuid"].as_str().unwrap().to_string();
    assert_error(&api.post("/clusters", json!({"name": "c", "zoneUuid": "0123456789abcdef0123456789abcdef", "hypervisorType": "KVM"})), 503, "SYS.1003");
    assert_error(
        &api.post(
            "/clusters",
            json!({"name": "c", "zoneUuid": zu, "hypervisorType": "Xen"}),
        ),
        503,
        "SYS.1007",
    );
    assert_error(
        &api.post(
            "/clusters",
            json!({"name": "c", "zoneUuid": zu, "hypervisorType": "KVM", "architecture": "sparc"}),
        ),
        503,
        "SYS.1007",
    );
    assert_error(
        &api.post(
            "/clusters",
            json!({"name": "c", "zoneUuid": zu, "hypervisorType": "KVM", "type": "baremetal"}),
        ),
        503,
        "SYS.1007",
    );
    assert_error(
        &api.post(
            "/clusters",
            json!({"zoneUuid": zu, "hypervisorType": "KVM"}),
        ),
        503,
        "SYS.1007",
    );
    assert_error(&api.post("/clusters", json!({"name": "c", "zoneUuid": zu, "hypervisorType": "KVM", "systemTags": ["no::such::tag"]})), 503, "SYS.1007");
    assert_error(&api.post("/clusters", json!({"name": "c", "zoneUuid": zu, "hypervisorType": "KVM", "resourceUuid": "0123456789abcdef0123456789abcdef"})), 503, "SYS.1007");
    assert_eq!(
        api.query("/clusters?count=true")["total"],
        0,
        "nothing half-written"
    );
    assert_error(
        &api.action(
            "/clusters/0123456789abcdef0123456789abcdef/actions",
            "updateCluster",
            json!({"name": "x"}),
        ),
        503,
        "SYS.1003",
    );
}

fn global_configs(db: Db) {
    let env = Env::start(db);
    let api = &env.api;
    let body = api.query("/global-configurations?q=category=host&q=name=ping.interval");
    let c = &body["inventories"][0];
    assert_eq!(
        (c["value"].as_str(), c["defaultValue"].as_str()),
        (Some("60"), Some("60"))
    );
    assert!(c["id"].as_i64().is_some());
    assert_eq!(
        body["schema"]["inventories[0]"],
        "org.zstack.core.config.GlobalConfigInventory"
    );
    let r = api.set_config("host", "ping.interval", "5");
    assert_eq!(r.body["inventory"]["value"], "5");
    for (cat, name, bad) in [
        ("host", "ping.interval", "abc"),
        ("host", "ping.interval", "0"),
        ("host", "connection.autoReconnectOnError", "yes"),
        ("kvm", "reservedMemory", "lots"),
        ("kvm", "takeOverFlagPath", "/tmp/a;rm"),
    ] {
        assert_error(&api.set_config(cat, name, bad), 503, "SYS.1007");
    }
    assert_error(&api.set_config("host", "no.such.key", "1"), 503, "SYS.1007");
    assert_eq!(
        api.query("/global-configurations?q=category=host&q=name=ping.interval")["inventories"][0]
            ["value"],
        "5",
        "bad values changed nothing"
    );
    // Every key of the identity, rest, host and kvm categories is there.
    for (cat, name) in [
        ("identity", "session.timeout"),
        ("rest", "completedApi.expiredPeriod"),
        ("kvm", "reservedMemory"),
        ("host", "cpu.overProvisioning.ratio"),
    ] {
        let q = format!("/global-configurations?q=category={cat}&q=name={name}");
        assert_eq!(
            api.query(&q)["inventories"].as_array().unwrap().len(),
            1,
            "{cat}.{name}"
        );
    }
}

fn expired_jobs_are_swept(db: Db) {
    let env = Env::start(db);
    let api = &env.api;
    api.set_config("rest", "completedApi.expiredPeriod", "1");
    let r = api.send(
        Method::POST,
        "/zstack/v1/zones",
        Some(json!({"params": {"name": "z"}})),
        &[],
    );
    let loc = r.body["location"].as_str().unwrap().to_string();
    assert_eq!(api.poll(&loc).status, 200);
    api.set_config("rest", "expiredApi.scanInterval", "1");
    std::thread::sleep(std::time::Duration::from_millis(3500));
    let r = api.send(Method::GET, &loc.replace(&env.server.base, ""), None, &[]);
    assert_eq!(
        (r.status, r.text.as_str()),
        (404, "the job has been expired")
    );
}

both_stores!(
    zone_lifecycle,
    zone_validation,
    cluster_lifecycle,
    cluster_validation,
    global_configs,
    expired_jobs_are_swept
);
