"""Every operation of every service, as its own `/openapi.json` describes it, answers hostile and
sloppy requests the way API.md promises: never a 5xx, every error is problem+json (type, title,
status, detail), and every status is one the operation documents.

A small deterministic driver (no schemathesis): for each operation it sends
- the request without credentials (a protected operation must answer 401 with WWW-Authenticate),
- the request with a valid token of a role that may not use it (404 per API.md; 401 on /internal),
- a plausible request from an allowed caller (made from the documented schemas),
- wrong-typed path/query/header parameters (422),
- a malformed body and an empty body for every documented media type,
- an oversized string in each string parameter and in every string field of the body,
- a body over the service's size limit (413).

Failures are collected and listed together so they are easy to fix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest

PROBLEM = "application/problem+json"
PROBE_UUID = "00000000-0000-4000-8000-00000000c0de"
PROBE_DEVICE = "dev-conformance"
LONG = 4096  # longer than any documented maxLength of a parameter; keeps the request line < 16 KiB
LONG_BODY = 20_000
WRONG = "not-a-valid-value"

PUBLIC_PATHS = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/.well-known/jwks.json",
    "/.well-known/openid-configuration",
    "/v1/auth/token",
}
# /internal paths only one service may call (the others: any service; the probes use the service's own token)
INTERNAL_CALLERS = {"/internal/v1/case-access": "intake", "/internal/v1/digest": "notify"}
# Who may use a path (by prefix), and one person who may not (API.md: they get 404, not 403).
ALLOWED = {"/v1/sync": "w001", "/v1/attachments": "w001", "/v1/admin": "admin", "/v1/cases": "d001"}
DENIED = {"/v1/sync": "d001", "/v1/attachments": "l001", "/v1/admin": "d001", "/v1/cases": "w001"}
PEOPLE = ("admin", "d001", "w001", "s001", "l001")
# Header values a well-formed request carries (the tus protocol version).
HEADER_VALUES = {"tus-resumable": "1.0.0"}
MALFORMED = {
    "application/json": b'{"device_id": "x", "items": [1, 2,',
    "application/yaml": b"areas: [1, 2\n  users: {: :",
    "application/x-www-form-urlencoded": b"%zz=%%&&=%",
}


def _prefix_lookup(table: dict[str, str], path: str) -> str | None:
    for prefix, who in table.items():
        if path == prefix or path.startswith(prefix + "/"):
            return who
    return None


@dataclass
class Operation:
    service: str
    method: str
    path: str
    op: dict[str, Any]
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.service} {self.method} {self.path}"

    @property
    def documented(self) -> set[str]:
        return set(self.op.get("responses", {}))

    @property
    def params(self) -> list[dict[str, Any]]:
        return [self.resolve(p) for p in self.op.get("parameters", [])]

    @property
    def media_types(self) -> list[str]:
        body = self.resolve(self.op.get("requestBody") or {})
        return list((body.get("content") or {}).keys())

    def body_schema(self, media_type: str) -> dict[str, Any]:
        body = self.resolve(self.op.get("requestBody") or {})
        return self.resolve(body["content"][media_type].get("schema") or {})

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 20:
            target: Any = self.spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            if target is None:  # a dangling $ref (reported by dangling_refs): any value
                return {}
            node = target
            seen += 1
        return node

    @property
    def public(self) -> bool:
        return self.path in PUBLIC_PATHS or self.method == "OPTIONS"

    @property
    def internal(self) -> bool:
        return self.path.startswith("/internal/")


@dataclass
class Probe:
    label: str
    caller: str | None  # username, "service", "client", or None
    path_values: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str | None = None
    expect: set[int] | None = None  # a stricter expectation than "documented"

    def slot(self, where: str) -> dict[str, str]:
        """Where a parameter goes (cookies are not sent by this driver: a throwaway dict)."""
        return {"path": self.path_values, "query": self.query, "header": self.headers}.get(where, {})


class Driver:
    def __init__(self, system: Any, service: str, base: str, spec: dict[str, Any], tokens: dict[str, str]) -> None:
        self.system = system
        self.service = service
        self.base = base
        self.spec = spec
        self.tokens = tokens
        self.failures: list[str] = []
        self.sent = 0

    # ---- values made from schemas -------------------------------------------------------------

    def value(self, op: Operation, schema: dict[str, Any], mode: str, depth: int = 0) -> Any:
        """A value for `schema`: mode "min" (required fields only, plausible), "long" (all fields,
        every free string oversized) or "long-item" (as "long", but the device id stays right so
        that validation reaches the items)."""
        schema = op.resolve(schema)
        if depth > 6:
            return None
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [op.resolve(s) for s in schema[key] if op.resolve(s).get("type") != "null"]
                return self.value(op, options[0], mode, depth + 1) if options else None
        if "allOf" in schema:
            return self.value(op, schema["allOf"][0], mode, depth + 1)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            names = list(props) if mode.startswith("long") else list(schema.get("required", []))
            out = {n: self.value(op, props[n], mode, depth + 1) for n in names}
            if mode != "long" and "device_id" in out:
                out["device_id"] = PROBE_DEVICE  # the grid worker's token is bound to this device
            return out
        if kind == "array":
            if mode.startswith("long") or schema.get("minItems", 0) > 0:
                return [self.value(op, schema.get("items") or {"type": "string"}, mode, depth + 1)]
            return []
        if kind == "integer":
            return int(schema.get("minimum", 1))
        if kind == "number":
            return float(schema.get("minimum", 1))
        if kind == "boolean":
            return True
        if kind == "string":
            fmt = schema.get("format")
            if fmt == "date-time":
                return "2026-11-22T10:00:00+08:00"
            if fmt == "date":
                return "2026-11-22"
            if fmt == "uuid":
                return PROBE_UUID
            if fmt == "binary":
                return ""
            if mode.startswith("long"):
                return "长" * LONG_BODY
            return "x" * max(1, int(schema.get("minLength", 1)))
        return "x" if mode == "min" else "长" * LONG_BODY

    def param_value(self, op: Operation, param: dict[str, Any]) -> str:
        if param["in"] == "header" and param["name"].lower() in HEADER_VALUES:
            return HEADER_VALUES[param["name"].lower()]
        if param["in"] == "path" and param["name"] == "device_id":
            return PROBE_DEVICE + "-never-used"
        value = self.value(op, param.get("schema") or {"type": "string"}, "min")
        if param["in"] == "path" and isinstance(value, int):
            return "987654321"
        if param["in"] == "path" and value == "x":
            return "conformance-probe"
        return str(value).lower() if isinstance(value, bool) else str(value)

    @staticmethod
    def typed(op: Operation, schema: dict[str, Any]) -> bool:
        """Whether a wrong-typed string can violate the schema (numbers, booleans, formats, enums)."""
        schema = op.resolve(schema)
        options = [op.resolve(s) for s in schema.get("anyOf", [schema]) if op.resolve(s).get("type") != "null"]
        return any(
            s.get("type") in ("integer", "number", "boolean")
            or s.get("format") in ("date-time", "date", "uuid")
            or "enum" in s
            for s in options
        )

    @staticmethod
    def free_string(op: Operation, schema: dict[str, Any]) -> int | None:
        """For a string parameter: a length that is too long for it (None if it is not a string)."""
        schema = op.resolve(schema)
        options = [op.resolve(s) for s in schema.get("anyOf", [schema]) if op.resolve(s).get("type") != "null"]
        for s in options:
            if s.get("type") == "string" and "enum" not in s and not s.get("format"):
                return max(LONG, int(s.get("maxLength", 0)) + 1)
        return None

    # ---- probes ---------------------------------------------------------------------------------

    def base_probe(self, op: Operation, label: str, caller: str | None) -> Probe:
        probe = Probe(label=label, caller=caller)
        for p in op.params:
            if p["in"] == "path" or p.get("required") or (p["in"] == "header" and p["name"].lower() in HEADER_VALUES):
                probe.slot(p["in"])[p["name"]] = self.param_value(op, p)
        types = op.media_types
        if types:
            media = "application/json" if "application/json" in types else types[0]
            probe.content_type = media
            probe.body = self.encode(self.value(op, op.body_schema(media), "min"), media)
        return probe

    @staticmethod
    def encode(value: Any, media: str) -> bytes:
        if media.endswith("json") or media.endswith("yaml"):
            return json.dumps(value, ensure_ascii=False).encode()  # JSON is valid YAML
        if media == "application/x-www-form-urlencoded" and isinstance(value, dict):
            return httpx.QueryParams({k: str(v) for k, v in value.items()}).__str__().encode()
        return b"" if value in (None, "") else str(value).encode()

    def probes(self, op: Operation) -> list[Probe]:
        allowed = self.allowed_callers(op)
        out: list[Probe] = []
        protected = not op.public

        # 1. no credentials
        out.append(self.base_probe(op, "no credentials", None))
        if protected:
            out[-1].expect = {401}

        # 2. a valid token of a caller that may not use it
        if op.internal:
            out.append(self.base_probe(op, "person token on /internal", "admin"))
            out[-1].expect = {401}
        elif protected and (denied := _prefix_lookup(DENIED, op.path)):
            out.append(self.base_probe(op, f"token of {denied} (may not use it)", denied))
            out[-1].expect = {404}

        for caller in allowed:
            strict = caller == _prefix_lookup(ALLOWED, op.path) or caller == "service"
            # 3. a plausible request from an allowed caller
            out.append(self.base_probe(op, f"plausible request as {caller}", caller))

            # 4. wrong-typed parameters
            typed = [p for p in op.params if self.typed(op, p.get("schema") or {})]
            if typed:
                probe = self.base_probe(op, f"wrong-typed {', '.join(p['name'] for p in typed)} as {caller}", caller)
                for p in typed:
                    probe.slot(p["in"])[p["name"]] = WRONG
                probe.expect = {422} if strict else None
                out.append(probe)

            # 5. malformed and empty bodies, per documented media type
            for media in op.media_types:
                if media in MALFORMED:
                    probe = self.base_probe(op, f"malformed {media} body as {caller}", caller)
                    probe.content_type, probe.body = media, MALFORMED[media]
                    probe.expect = {422} if strict else None
                    out.append(probe)
                probe = self.base_probe(op, f"empty {media} body as {caller}", caller)
                probe.content_type, probe.body = media, b""
                out.append(probe)

            # 6. oversized strings: each string parameter, then every string field of the body
            for p in op.params:
                length = self.free_string(op, p.get("schema") or {})
                if length is None or (p["in"] == "header" and p["name"].lower() in HEADER_VALUES):
                    continue
                probe = self.base_probe(op, f"oversized {p['in']} {p['name']} as {caller}", caller)
                probe.slot(p["in"])[p["name"]] = "x" * length
                out.append(probe)
            for media in op.media_types:
                schema = op.body_schema(media)
                if op.resolve(schema).get("format") == "binary":
                    continue
                bodies = {"long": self.encode(self.value(op, schema, "long"), media)}
                if (item := self.encode(self.value(op, schema, "long-item"), media)) != bodies["long"]:
                    bodies["long-item"] = item
                for mode, body in bodies.items():
                    label = "every string" if mode == "long" else "every string but device_id"
                    probe = self.base_probe(op, f"oversized {label} in the {media} body as {caller}", caller)
                    probe.content_type, probe.body = media, body
                    out.append(probe)

        # 7. a body over the service's limit (tus uploads enforce their own per-upload limit)
        if op.media_types and not op.path.startswith("/v1/attachments"):
            probe = self.base_probe(op, "body over the size limit", allowed[0] if allowed else None)
            probe.body = b" " * (self.max_body(op) + 1)
            probe.expect = {413}
            out.append(probe)
        return out

    def allowed_callers(self, op: Operation) -> list[str]:
        if op.public:
            return ["anonymous"]
        if op.internal:
            return ["service"]
        known = _prefix_lookup(ALLOWED, op.path)
        # An operation this test does not know yet: every kind of caller, with the generic checks.
        return [known] if known else [*PEOPLE, "client"]

    def max_body(self, op: Operation) -> int:
        settings = self.system.settings[self.service]
        if op.path.startswith("/internal/"):  # service-to-service batches have their own, larger limit
            return int(settings.internal_max_body_bytes)
        return int(settings.max_body_bytes)

    # ---- sending and checking -------------------------------------------------------------------

    async def send(self, op: Operation, probe: Probe) -> None:
        path = op.path
        for name, value in probe.path_values.items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        headers = dict(probe.headers)
        if probe.caller == "service":
            caller = _prefix_lookup(INTERNAL_CALLERS, op.path) or self.service
            headers["Authorization"] = f"Bearer {self.system.settings[caller].service_token}"
        elif probe.caller not in (None, "anonymous"):
            headers["Authorization"] = f"Bearer {self.tokens[probe.caller]}"
        if probe.content_type is not None:
            headers["Content-Type"] = probe.content_type
        where = f"{op.name} [{probe.label}]"
        try:
            resp = await self.system.http.request(
                op.method, self.base + path, params=probe.query, headers=headers, content=probe.body, timeout=15
            )
        except httpx.HTTPError as exc:
            self.failures.append(f"{where}: transport error {type(exc).__name__}: {exc}")
            return
        self.sent += 1
        self.check(op, probe, where, resp)

    def check(self, op: Operation, probe: Probe, where: str, resp: httpx.Response) -> None:
        status = resp.status_code
        got = f"{status} {resp.headers.get('content-type', '')} {resp.text[:200]!r}"
        if status >= 500:
            self.failures.append(f"{where}: server error {got}")
        documented = op.documented
        if str(status) not in documented and f"{str(status)[0]}XX" not in documented and "default" not in documented:
            self.failures.append(f"{where}: status {status} not documented (documented: {sorted(documented)}) {got}")
        if probe.expect is not None and status not in probe.expect:
            self.failures.append(f"{where}: expected {sorted(probe.expect)}, got {got}")
        if status == 401 and "www-authenticate" not in resp.headers:
            self.failures.append(f"{where}: 401 without WWW-Authenticate")
        if status >= 400:
            if not resp.headers.get("content-type", "").startswith(PROBLEM):
                self.failures.append(f"{where}: error is not {PROBLEM}: {got}")
                return
            if op.method == "HEAD":
                return
            try:
                body = resp.json()
            except ValueError:
                self.failures.append(f"{where}: problem body is not JSON: {got}")
                return
            missing = [k for k in ("type", "title", "status", "detail") if not isinstance(body, dict) or k not in body]
            if missing:
                self.failures.append(f"{where}: problem lacks {missing}: {got}")
            elif body["status"] != status:
                self.failures.append(f"{where}: problem status {body['status']} != HTTP {status}")
            elif re.search(r"Traceback|File \"/", json.dumps(body, ensure_ascii=False)):
                self.failures.append(f"{where}: problem leaks a stack trace: {got}")


def dangling_refs(spec: dict[str, Any]) -> list[str]:
    """`$ref`s that point at nothing: a client generated from the document cannot build the body."""
    schemas = spec.get("components", {}).get("schemas", {})
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(spec)))
    return sorted(refs - set(schemas))


def operations(service: str, spec: dict[str, Any]) -> list[Operation]:
    ops: list[Operation] = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method, op in item.items():
            if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS") and isinstance(op, dict):
                ops.append(Operation(service, method.upper(), path, op, spec))
    return ops


async def _tokens(system: Any) -> dict[str, str]:
    tokens = {u: await system.token(u) for u in PEOPLE if u != "w001"}
    tokens["w001"] = await system.token("w001", PROBE_DEVICE)
    resp = await system.http.post(
        f"{system.cases_url}/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": "ps-dl", "client_secret": "ps-dl-secret"},
    )
    assert resp.status_code == 200, resp.text
    tokens["client"] = resp.json()["access_token"]
    return tokens


@pytest.mark.parametrize("service", ["cases", "intake", "notify"])
async def test_every_operation_answers_documented_problems_and_never_5xx(system: Any, service: str) -> None:
    base = {"cases": system.cases_url, "intake": system.intake_url, "notify": system.notify_url}[service]
    resp = await system.http.get(f"{base}/openapi.json")
    assert resp.status_code == 200, resp.text
    spec = resp.json()
    ops = operations(service, spec)
    assert ops, f"{service} documents no operations"
    assert any(op.path == "/readyz" for op in ops)

    driver = Driver(system, service, base, spec, await _tokens(system))
    for name in dangling_refs(spec):
        driver.failures.append(f"{service} /openapi.json: $ref #/components/schemas/{name} points at no schema")
    for op in ops:
        for probe in driver.probes(op):
            await driver.send(op, probe)

    if driver.failures:
        pytest.fail(
            f"{len(driver.failures)} conformance failure(s) in {service}"
            f" ({driver.sent} requests, {len(ops)} operations):\n  " + "\n  ".join(driver.failures),
            pytrace=False,
        )
