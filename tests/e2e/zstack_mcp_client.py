#!/usr/bin/env python3
"""hostplane end to end through ZStack's own Python client.

Drives a running hostplane only through ``zstack_mcp.zstack_client.ZStackClient`` (the
client of the ``zstack-mcp-server`` package, which speaks ZStack's legacy RPC API:
``POST /zstack/api/`` and polling ``GET /zstack/api/result/{uuid}``):

  log in (the client SHA-512-hashes the password itself), create a zone and a cluster,
  add a real SSH host with AddKVMHost, query it with conditions, delete it, and clean up.

Every result is checked; on the first mismatch the script prints what it expected and what
it got, and exits 1. Exit 0 means every step passed.

Environment:
  HOSTPLANE_URL            base URL of the server, e.g. http://127.0.0.1:8080 (required)
  HOSTPLANE_ACCOUNT        account name (default admin)
  HOSTPLANE_PASSWORD       account password, in clear (default password)
  E2E_HOST_IP              management IP of the SSH test host (required)
  E2E_HOST_PORT            its SSH port (default 22)
  E2E_HOST_USER            its login user (required)
  E2E_HOST_PASSWORD        its login password (required)
"""

import asyncio
import os
import sys
import time

from zstack_mcp.zstack_client import ZStackApiError, ZStackClient

QUERY_HOST = "org.zstack.header.host.APIQueryHostMsg"


class Mismatch(Exception):
    pass


def step(msg):
    print(f"[e2e] {msg}", flush=True)


def check(cond, what, got=None):
    if not cond:
        raise Mismatch(f"{what}" + ("" if got is None else f"; got: {got!r}"))


def env(name, default=None):
    v = os.environ.get(name, default)
    if v is None or v == "":
        raise Mismatch(f"environment variable {name} is not set")
    return v


def is_uuid(s):
    return isinstance(s, str) and len(s) == 32 and all(c in "0123456789abcdef" for c in s)


async def expect_error(coro, code, what):
    """Run a call that must fail with a ZStack error of this code."""
    try:
        r = await coro
    except ZStackApiError as e:
        check(e.code == code, f"{what}: error code {code}", (e.code, str(e)))
        return e
    raise Mismatch(f"{what}: expected error {code}, got success: {r!r}")


async def query_hosts(client, conditions, **extra):
    params = {"conditions": conditions, **extra}
    return await client.execute("QueryHost", QUERY_HOST, params)


async def run():
    url = env("HOSTPLANE_URL")
    ip = env("E2E_HOST_IP")
    port = int(env("E2E_HOST_PORT", "22"))
    user = env("E2E_HOST_USER")
    host_password = env("E2E_HOST_PASSWORD")
    client = ZStackClient(
        api_url=url,
        account=env("HOSTPLANE_ACCOUNT", "admin"),
        password=env("HOSTPLANE_PASSWORD", "password"),
    )
    try:
        # --- log in (APILogInByAccountMsg with the SHA-512 of the password)
        step("login")
        session = await client.login()
        check(is_uuid(session.uuid), "login: a session uuid", session.uuid)
        check(is_uuid(session.account_uuid), "login: the account uuid", session.account_uuid)
        check(session.expire_date, "login: expiredDate in the session inventory", session)

        # A wrong password is refused with ID.1000.
        bad = ZStackClient(api_url=url, account=env("HOSTPLANE_ACCOUNT", "admin"), password="not-the-password")
        try:
            await expect_error(bad.login(), "ID.1000", "login with a wrong password")
        finally:
            await bad.close()

        # --- a sync call: the version
        r = await client.execute("GetVersion", "org.zstack.header.managementnode.APIGetVersionMsg", {})
        check(r.get("success") is True and r.get("version"), "GetVersion", r)

        # A session that is no longer valid: the client recognises ID.1001, logs in again by
        # itself and retries the call.
        step("session refresh")
        old = client.session.uuid
        r = await client.execute("LogOut", "org.zstack.header.identity.APILogOutMsg", {"sessionUuid": old})
        check(r.get("success") is True, "LogOut", r)
        r = await client.execute(
            "QueryZone", "org.zstack.header.zone.APIQueryZoneMsg", {"conditions": [], "count": True}
        )
        check(isinstance(r.get("total"), int), "QueryZone count after the session was logged out", r)
        check(is_uuid(client.session.uuid) and client.session.uuid != old, "a new session", client.session)
        # Given only a session id, the client cannot log in again: ID.1001 reaches the caller.
        stale = ZStackClient(api_url=url, session_id=old)
        try:
            await expect_error(
                stale.execute("QueryZone", "org.zstack.header.zone.APIQueryZoneMsg", {"conditions": []}),
                "ID.1001",
                "a query with a logged-out session",
            )
            await expect_error(
                stale.execute(
                    "CreateZone", "org.zstack.header.zone.APICreateZoneMsg", {"name": "never"}, is_async=True
                ),
                "ID.1001",
                "an async call with a logged-out session",
            )
        finally:
            await stale.close()

        # --- zone and cluster (async: the client polls /zstack/api/result/{uuid})
        step("create zone")
        zone_name = f"e2e-zone-{int(time.time())}"
        r = await client.execute(
            "CreateZone",
            "org.zstack.header.zone.APICreateZoneMsg",
            {"name": zone_name, "description": "made by zstack_mcp_client.py"},
            is_async=True,
        )
        zone = r.get("inventory") or {}
        check(r.get("success") is True, "CreateZone: success", r)
        check(zone.get("name") == zone_name and is_uuid(zone.get("uuid")), "CreateZone: the zone inventory", r)
        check(zone.get("state") == "Enabled", "CreateZone: state Enabled", zone)

        step("create cluster")
        r = await client.execute(
            "CreateCluster",
            "org.zstack.header.cluster.APICreateClusterMsg",
            {"name": "e2e-cluster", "zoneUuid": zone["uuid"], "hypervisorType": "KVM"},
            is_async=True,
        )
        cluster = r.get("inventory") or {}
        check(
            cluster.get("name") == "e2e-cluster" and cluster.get("zoneUuid") == zone["uuid"],
            "CreateCluster: the cluster inventory",
            r,
        )
        check(cluster.get("hypervisorType") == "KVM", "CreateCluster: hypervisorType", cluster)

        # --- add the SSH test host
        step(f"add KVM host {user}@{ip}:{port}")
        r = await client.execute(
            "AddKVMHost",
            "org.zstack.kvm.APIAddKVMHostMsg",
            {
                "name": "e2e-host",
                "managementIp": ip,
                "sshPort": port,
                "username": user,
                "password": host_password,
                "clusterUuid": cluster["uuid"],
            },
            is_async=True,
        )
        host = r.get("inventory") or {}
        check(r.get("success") is True, "AddKVMHost: success", r)
        check(is_uuid(host.get("uuid")), "AddKVMHost: a host uuid", host)
        check(host.get("managementIp") == ip, "AddKVMHost: managementIp", host)
        check(host.get("status") == "Connected", "AddKVMHost: status Connected", host)
        check(host.get("state") == "Enabled", "AddKVMHost: state Enabled", host)
        check(host.get("clusterUuid") == cluster["uuid"], "AddKVMHost: clusterUuid", host)
        check(host.get("zoneUuid") == zone["uuid"], "AddKVMHost: zoneUuid", host)
        check(host.get("hypervisorType") == "KVM", "AddKVMHost: hypervisorType", host)
        check(host.get("sshPort") == port and host.get("username") == user, "AddKVMHost: sshPort/username", host)
        check("password" not in host, "AddKVMHost: no password in the inventory", host)
        check(isinstance(host.get("cpuNum"), int) and host["cpuNum"] > 0, "AddKVMHost: cpuNum", host)

        # Adding the same IP again is refused.
        await expect_error(
            client.execute(
                "AddKVMHost",
                "org.zstack.kvm.APIAddKVMHostMsg",
                {
                    "name": "dup",
                    "managementIp": ip,
                    "sshPort": port,
                    "username": user,
                    "password": host_password,
                    "clusterUuid": cluster["uuid"],
                },
                is_async=True,
            ),
            "SYS.1007",
            "AddKVMHost of an IP already added",
        )

        # --- query it with conditions
        step("query host")
        r = await query_hosts(
            client,
            [
                {"name": "managementIp", "op": "=", "value": ip},
                {"name": "status", "op": "=", "value": "Connected"},
            ],
        )
        invs = r.get("inventories")
        check(isinstance(invs, list) and len(invs) == 1, "QueryHost managementIp= status=Connected: one host", r)
        check(invs[0].get("uuid") == host["uuid"], "QueryHost: the added host", invs[0])
        check(invs[0].get("name") == "e2e-host", "QueryHost: its name", invs[0])

        r = await query_hosts(
            client,
            [
                {"name": "name", "op": "like", "value": "e2e-%"},
                {"name": "cluster.name", "op": "=", "value": "e2e-cluster"},
                {"name": "zone.uuid", "op": "in", "value": f"{zone['uuid']},nope"},
            ],
            replyWithCount=True,
        )
        check(r.get("total") == 1 and len(r.get("inventories", [])) == 1, "QueryHost like/expansions/in: total 1", r)

        r = await query_hosts(
            client,
            [
                {"name": "hypervisorType", "op": "=", "value": "KVM"},
                {"name": "sshPort", "op": "=", "value": str(port)},
                {"name": "uuid", "op": "=", "value": host["uuid"]},
            ],
            fields=["uuid", "sshPort"],
        )
        check(
            r.get("inventories") == [{"uuid": host["uuid"], "sshPort": port}],
            "QueryHost hypervisorType=KVM sshPort= with fields",
            r,
        )

        r = await query_hosts(
            client,
            [
                {"name": "managementIp", "op": "=", "value": ip},
                {"name": "status", "op": "!=", "value": "Connected"},
            ],
        )
        check(r.get("inventories") == [], "QueryHost status!=Connected: nothing", r)

        r = await query_hosts(client, [{"name": "description", "op": "is null"}], count=True)
        check(r.get("total") == 1, "QueryHost description is null, count: 1", r)

        await expect_error(
            query_hosts(client, [{"name": "noSuchField", "op": "=", "value": "x"}]),
            "SYS.1000",
            "QueryHost on an unknown field",
        )
        await expect_error(
            query_hosts(client, [{"name": "name", "op": "IN", "value": "x"}]),
            "SYS.1007",
            "QueryHost with an unknown op",
        )

        # --- delete it
        step("delete host")
        r = await client.execute(
            "DeleteHost",
            "org.zstack.header.host.APIDeleteHostMsg",
            {"uuid": host["uuid"]},
            is_async=True,
        )
        check(r.get("success") is True, "DeleteHost: success", r)
        r = await query_hosts(client, [{"name": "managementIp", "op": "=", "value": ip}])
        check(r.get("inventories") == [], "QueryHost after DeleteHost: gone", r)
        r = await query_hosts(client, [{"name": "uuid", "op": "=", "value": host["uuid"]}], count=True)
        check(r.get("total") == 0, "QueryHost count after DeleteHost: 0", r)

        # --- clean up: cluster, zone
        step("delete cluster and zone")
        r = await client.execute(
            "DeleteCluster",
            "org.zstack.header.cluster.APIDeleteClusterMsg",
            {"uuid": cluster["uuid"]},
            is_async=True,
        )
        check(r.get("success") is True, "DeleteCluster: success", r)
        r = await client.execute(
            "DeleteZone",
            "org.zstack.header.zone.APIDeleteZoneMsg",
            {"uuid": zone["uuid"]},
            is_async=True,
        )
        check(r.get("success") is True, "DeleteZone: success", r)
        r = await client.execute(
            "QueryZone",
            "org.zstack.header.zone.APIQueryZoneMsg",
            {"conditions": [{"name": "uuid", "op": "=", "value": zone["uuid"]}]},
        )
        check(r.get("inventories") == [], "QueryZone after DeleteZone: gone", r)
    finally:
        # LogOut (best effort inside the client), then the session is invalid.
        sid = client.session.uuid if client.session else None
        await client.logout()
    if sid:
        probe = ZStackClient(api_url=url, session_id=sid)
        try:
            r = await probe.execute(
                "ValidateSession",
                "org.zstack.header.identity.APIValidateSessionMsg",
                {"sessionUuid": sid},
            )
            check(r.get("validSession") is False, "ValidateSession after LogOut: false", r)
        finally:
            await probe.close()


def main():
    try:
        asyncio.run(run())
    except Mismatch as e:
        print(f"[e2e] FAILED: {e}", file=sys.stderr, flush=True)
        return 1
    except ZStackApiError as e:
        print(f"[e2e] FAILED: unexpected ZStack error {e.code}: {e} {e.details!r}", file=sys.stderr, flush=True)
        return 1
    except Exception as e:  # connection refused, bad JSON, ...
        print(f"[e2e] FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return 1
    print("[e2e] all steps passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
