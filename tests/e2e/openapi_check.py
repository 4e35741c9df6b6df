"""Check hostplane's OpenAPI document against a real server, the way a tool builder would use it.

1. Fetch /zstack/v1/openapi.json without a session and validate it (openapi-spec-validator).
2. Check it covers every API the server's table lists (E2E_APIS, comma-separated).
3. Drive a real server with a client that knows nothing but the document: it finds each
   operation by its ZStack API name (x-zstack-apis), builds the path, the query string and the
   body from the operation's description, checks the request against the document's schemas
   before sending it, and checks every answer (and every polled job result) against the
   response schemas. It logs in, creates a zone and a cluster, then AddKVMHost (a real sshd
   host: E2E_HOST_IP, E2E_HOST_PORT, E2E_HOST_USER, E2E_HOST_PASSWORD), QueryHost, DeleteHost.

Used by crates/hostplane/tests/openapi_e2e.rs. Usage: openapi_check.py BASE_URL
Prints "[openapi] all checks passed" at the end; any failure raises.
"""

import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec


def log(*a):
    print("[openapi]", *a, flush=True)


def http(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


class Client:
    """A client driven by the OpenAPI document alone."""

    def __init__(self, base, doc):
        self.base = base
        self.doc = doc
        self.api_root = base + doc["servers"][0]["url"]
        self.session = None
        # ZStack API name -> (path, method, operation); the operation whose id is the API's
        # name wins (QueryHost: /hosts rather than /hosts/{uuid}).
        self.ops = {}
        self.by_id = {}
        for path, item in doc["paths"].items():
            for method, op in item.items():
                self.by_id[op["operationId"]] = (path, method, op)
                for a in op.get("x-zstack-apis", []):
                    if a["name"] not in self.ops or op["operationId"] == a["name"]:
                        self.ops[a["name"]] = (path, method, op)

    def validator(self, schema):
        root = dict(schema)
        root["components"] = self.doc["components"]
        return Draft202012Validator(root)

    def check(self, schema, value, what):
        errors = sorted(self.validator(schema).iter_errors(value), key=lambda e: list(e.path))
        if errors:
            raise AssertionError(f"{what} does not match the document: {errors[0].message} at {list(errors[0].path)}; value: {json.dumps(value)[:800]}")

    def response_schema(self, op, status):
        r = op["responses"].get(str(status))
        if r is None:
            raise AssertionError(f"{op['operationId']}: status {status} is not in the document ({list(op['responses'])})")
        if "$ref" in r:
            r = self.doc["components"]["responses"][r["$ref"].rsplit("/", 1)[1]]
        return r, (r.get("content") or {})

    def call(self, api, params=None, query=None):
        """Call an API by name; returns (status, body) after polling a job to its end."""
        params = dict(params or {})
        path, method, op = self.ops[api]
        apis = {a["name"]: a for a in op["x-zstack-apis"]}
        meta = apis[api]
        # The path: URL variables come from the parameters of the same name.
        url_path = path
        for p in op.get("parameters", []):
            if "$ref" in p:
                continue
            if p["in"] == "path":
                v = params.pop(p["name"])
                self.check(p["schema"], v, f"{api} path parameter {p['name']}")
                url_path = url_path.replace("{" + p["name"] + "}", urllib.parse.quote(str(v), safe=""))
        # The query string: only parameters the operation names, each checked.
        pairs = []
        declared = {p["name"]: p for p in op.get("parameters", []) if "$ref" not in p and p["in"] == "query"}
        for k, v in (query or {}).items():
            assert k in declared, f"{api}: query parameter {k} is not in the document"
            self.check(declared[k]["schema"], v, f"{api} query parameter {k}")
            for item in (v if isinstance(v, list) else [v]):
                pairs.append((k, str(item).lower() if isinstance(item, bool) else str(item)))
        body = None
        if "requestBody" in op:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            alternatives = schema.get("oneOf", [schema])
            chosen = [s for s in alternatives if s.get("title") == api]
            assert len(chosen) == 1, f"{api}: no body alternative titled {api}"
            key = chosen[0]["required"][0]
            body = {key: params}
            self.check(schema, body, f"{api} request body")
        elif method in ("get", "delete"):
            for k, v in params.items():
                assert k in declared, f"{api}: parameter {k} is not in the document"
                self.check(declared[k]["schema"], v, f"{api} parameter {k}")
                pairs.append((k, str(v)))
        headers = {}
        if meta["session"]:
            scheme = self.doc["components"]["securitySchemes"]["session"]
            assert scheme["in"] == "header"
            headers[scheme["name"]] = "OAuth " + self.session
        url = self.api_root + url_path
        if pairs:
            url += "?" + urllib.parse.urlencode(pairs)
        status, _, text = http(method.upper(), url, body, headers)
        resp, content = self.response_schema(op, status)
        value = json.loads(text) if "application/json" in content else text
        if "application/json" in content:
            self.check(content["application/json"]["schema"], value, f"{api} answer {status}")
        if status == 202:
            result = resp["x-hostplane-job-result"]
            status, value = self.poll(value["location"], api)
            if status == 200:
                self.check(result, value, f"{api} job result")
        return status, value

    def poll(self, location, api):
        path, method, op = self.by_id["PollJob"]
        deadline = time.time() + 120
        while True:
            status, _, text = http("GET", location)
            _, content = self.response_schema(op, status)
            value = json.loads(text) if "application/json" in content else text
            if "application/json" in content:
                self.check(content["application/json"]["schema"], value, f"{api} poll {status}")
            if status != 202:
                return status, value
            assert time.time() < deadline, f"{api}: job still running"
            time.sleep(0.1)


def main():
    base = sys.argv[1].rstrip("/")
    status, headers, text = http("GET", base + "/zstack/v1/openapi.json")
    assert status == 200, (status, text[:300])
    doc = json.loads(text)
    validate_spec(doc)
    log("the document is valid OpenAPI", doc["openapi"])

    c = Client(base, doc)
    want = [a for a in os.environ["E2E_APIS"].split(",") if a]
    missing = [a for a in want if a not in c.ops]
    assert not missing, f"APIs missing from the document: {missing}"
    assert len(c.ops) == len(want), f"the document has APIs the table does not: {set(c.ops) - set(want)}"
    log(f"covers all {len(want)} APIs of the table")

    pw = hashlib.sha512(os.environ.get("E2E_ADMIN_PASSWORD", "password").encode()).hexdigest()
    status, r = c.call("LogInByAccount", {"accountName": "admin", "password": pw})
    assert status == 200, r
    c.session = r["inventory"]["uuid"]
    status, r = c.call("CreateZone", {"name": "openapi-zone"})
    assert status == 200, r
    zone = r["inventory"]["uuid"]
    status, r = c.call("CreateCluster", {"name": "openapi-cluster", "zoneUuid": zone, "hypervisorType": "KVM"})
    assert status == 200, r
    cluster = r["inventory"]["uuid"]

    status, r = c.call("AddKVMHost", {
        "name": "openapi-host",
        "managementIp": os.environ["E2E_HOST_IP"],
        "sshPort": int(os.environ["E2E_HOST_PORT"]),
        "username": os.environ["E2E_HOST_USER"],
        "password": os.environ["E2E_HOST_PASSWORD"],
        "clusterUuid": cluster,
    })
    assert status == 200, r
    host = r["inventory"]
    assert host["status"] == "Connected", host
    log("AddKVMHost: Connected,", host["cpuNum"], "CPUs")

    status, r = c.call("QueryHost", query={"q": [f"uuid={host['uuid']}", "status=Connected"],
                                           "fields": "uuid,name,status,cpuNum", "sort": "-name", "limit": 10,
                                           "replyWithCount": True})
    assert status == 200, r
    assert r["total"] == 1 and r["inventories"][0]["name"] == "openapi-host", r
    assert set(r["inventories"][0]) == {"uuid", "name", "status", "cpuNum"}, r
    status, r = c.call("QueryHost", query={"count": True})
    assert status == 200 and r["total"] == 1, r
    log("QueryHost: found it")

    status, r = c.call("DeleteHost", {"uuid": host["uuid"], "deleteMode": "Permissive"})
    assert status == 200, r
    status, r = c.call("QueryHost", query={"count": True})
    assert status == 200 and r["total"] == 0, r
    log("DeleteHost: gone")

    # A failure answers as the document says, too (an ErrorCode): an unknown field in a query.
    status, r = c.call("QueryHost", query={"q": ["noSuchField=1"]})
    assert status == 503 and "noSuchField" in r["error"]["details"], (status, r)
    log("all checks passed")


if __name__ == "__main__":
    main()
