"""The AWS request contract of the e2e tests: checks one request against the
service model botocore ships (botocore/data/<service>/<version>/service-2.json,
the model the AWS CLI and boto3 serialize from).

Started once per test file by aws-contract.mjs, with the python that runs
moto_server (moto depends on botocore, so the models are there). Reads one
JSON object per line on stdin:

    {"id": 1, "method": "POST", "path": "/", "contentType": "...",
     "target": "<X-Amz-Target or ''>", "scope": "<SigV4 service or ''>",
     "body": "<the raw body text>"}

and answers each with one line on stdout:

    {"id": 1, "service": "ECS", "operation": "RunTask",
     "violations": [{"parameter": "launchType", "rule": "enum", "message": "..."}]}

The first line it writes is {"ready": true, "botocore": "<version>", ...}.
It exits when stdin closes.

What is checked, by protocol (the model's metadata.protocol):

- json (ECS, CloudWatch Logs): X-Amz-Target is metadata.targetPrefix + "." +
  an operation of the model; Content-Type is application/x-amz-json-<jsonVersion>;
  the body is one JSON object, which must pass botocore's own
  botocore.validate.ParamValidator against the operation's input shape
  (unknown and missing required members, types, min lengths and values).
- ec2 / query (EC2; STS): the service is the credential scope's (for an
  unsigned request, e.g. STS AssumeRoleWithWebIdentity, the loaded model
  that has the Action); the form has Action = an operation of the model and
  Version = metadata.apiVersion, once each; every other name is one the
  protocol serializes from the input shape, by botocore's own naming
  (botocore.serialize.EC2Serializer: a member's locationName with its first
  letter upper-cased, else the member name; list items Name.1..Name.N;
  structure members Name.Member; the query protocol's
  botocore.serialize.QuerySerializer: the locationName as it is, list items
  Name.member.N), given once. The values are read back
  into parameters by the member types and checked by ParamValidator, and the
  parameters, serialized again by botocore's serializer, must give back
  exactly the names that were sent.
- Both: what ParamValidator leaves out, from the same model: enum values,
  max lengths, counts and values, patterns (matched in full, as AWS does;
  patterns Python cannot compile, e.g. with \\p{L}, are skipped), a JSON true
  or false given for a number (Python's bool is an int, so botocore lets it
  through), JSON object keys given twice, and timestamps that are not JSON
  numbers (the json protocol's default format is epoch seconds).
"""

import base64
import datetime
import difflib
import json
import re
import sys
from urllib.parse import parse_qsl

import botocore
import botocore.session
from botocore.exceptions import UnknownServiceError
from botocore.serialize import create_serializer
from botocore.validate import ParamValidator

# The services the action talks to, loaded before "ready" (others on first use).
PRELOAD = ("ecs", "logs", "ec2", "sts")

# botocore's ParamValidator reasons, as the rule a violation names.
BOTOCORE_RULES = {
    "missing required field": "required",
    "unknown field": "unknown parameter",
    "invalid type": "type",
    "invalid range": "min",
    "invalid length": "min length",
}


class Models:
    def __init__(self):
        self.session = botocore.session.get_session()
        self.cache = {}
        for name in PRELOAD:
            self.get(name)

    def get(self, name):
        if name not in self.cache:
            try:
                self.cache[name] = self.session.get_service_model(name)
            except UnknownServiceError:
                self.cache[name] = None
        return self.cache[name]

    def by_action(self, action, version):
        """The loaded form (ec2/query) model with operation `action`, for an
        unsigned request (STS AssumeRoleWithWebIdentity): the one of
        `version` first."""
        found = [
            m
            for m in self.cache.values()
            if m is not None and m.protocol in ("ec2", "query") and action in m.operation_names
        ]
        found.sort(key=lambda m: m.api_version != version)
        return found[0] if found else None

    def by_target_prefix(self, prefix):
        for model in self.cache.values():
            if model is not None and model.metadata.get("targetPrefix") == prefix:
                return model
        return None


class Report:
    """The violations of one request."""

    def __init__(self):
        self.violations = []

    def add(self, parameter, rule, message):
        # One violation per parameter and rule: a form value that does not
        # read as its type is reported once, not again by ParamValidator.
        if any(v["parameter"] == parameter and v["rule"] == rule for v in self.violations):
            return
        self.violations.append({"parameter": parameter, "rule": rule, "message": message})


def check(models, request):
    report = Report()
    target = request.get("target") or ""
    scope = request.get("scope") or ""
    content_type = (request.get("contentType") or "").split(";")[0].strip().lower()
    out = {"service": scope or "?", "operation": "", "violations": report.violations}

    if target:
        prefix, _, operation = target.rpartition(".")
        out["operation"] = operation
        model = models.by_target_prefix(prefix) or (models.get(scope) if scope else None)
        if model is None:
            report.add("X-Amz-Target", "service", f"no botocore model for service {scope or prefix!r}")
            return out
        out["service"] = model.metadata.get("serviceId", scope)
        if scope and scope != model.signing_name:
            report.add(
                "Authorization",
                "signing name",
                f"signed for service {scope!r}; {out['service']} signs as {model.signing_name!r}",
            )
        check_json(model, request, prefix, operation, content_type, report)
    elif content_type == "application/x-www-form-urlencoded":
        pairs = parse_qsl(request.get("body") or "", keep_blank_values=True)
        out["operation"] = next((v for k, v in pairs if k == "Action"), "")
        version = next((v for k, v in pairs if k == "Version"), "")
        # Unsigned (no credential scope): the service whose model has the Action.
        model = models.get(scope) if scope else models.by_action(out["operation"], version) or models.get("ec2")
        if model is None:
            report.add("Authorization", "service", f"no botocore model for service {scope!r}")
            return out
        out["service"] = model.metadata.get("serviceId", scope)
        if model.protocol not in ("ec2", "query"):
            report.add("Content-Type", "protocol", f"{out['service']} uses the {model.protocol} protocol, not a form")
            return out
        check_query(model, request, pairs, report)
    else:
        report.add("Content-Type", "protocol", f"neither an X-Amz-Target nor a form body (Content-Type {content_type!r})")
    return out


# --- json protocol --------------------------------------------------------


def check_json(model, request, prefix, operation, content_type, report):
    expected_prefix = model.metadata.get("targetPrefix")
    if prefix != expected_prefix:
        report.add("X-Amz-Target", "target prefix", f"{prefix!r} is not the model's targetPrefix {expected_prefix!r}")
    expected_type = f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"
    if content_type != expected_type:
        report.add("Content-Type", "content type", f"{content_type!r}; the model's protocol wants {expected_type!r}")
    op = operation_model(model, operation, report)
    if op is None:
        return
    check_http(op, request, report)
    text = request.get("body") or ""
    if text.strip() == "":
        params = {}
    else:
        try:
            params = json.loads(text, object_pairs_hook=lambda pairs: unique_keys(pairs, report))
        except ValueError as error:
            report.add("(body)", "json", f"the body is not JSON: {error}")
            return
    if not isinstance(params, dict):
        report.add("(body)", "json", f"the body is a JSON {type(params).__name__}, not an object")
        return
    shape = op.input_shape
    if shape is None:
        if params:
            report.add("(body)", "unknown parameter", f"{operation} takes no input, got {sorted(params)}")
        return
    params = json_to_params(params, shape, "", report)
    validate(params, shape, report)
    extra_checks(params, shape, "", report)


def unique_keys(pairs, report):
    seen = {}
    for key, value in pairs:
        if key in seen:
            report.add(key, "duplicate key", f"the JSON object has {key!r} more than once")
        seen[key] = value
    return seen


def json_to_params(value, shape, path, report):
    """The wire JSON as botocore parameters: member names (a member's
    locationName, if it has one, is its JSON name) and timestamps."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict) and not shape.is_document_type:
        wire_names = {m.serialization.get("name", name): name for name, m in shape.members.items()}
        out = {}
        for key, item in value.items():
            name = wire_names.get(key, key)
            member = shape.members.get(name)
            out[name] = json_to_params(item, member, join(path, name), report) if member is not None else item
        return out
    if kind == "list" and isinstance(value, list):
        return [json_to_params(item, shape.member, f"{path}[{i}]", report) for i, item in enumerate(value)]
    if kind == "map" and isinstance(value, dict):
        return {k: json_to_params(v, shape.value, f"{path}.{k}", report) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
        if value is not None:
            report.add(path, "timestamp", f"{value!r}: json protocol timestamps are epoch seconds (a JSON number)")
    return value


# --- ec2 and query protocols ----------------------------------------------


class Index(dict):
    """A list being read back: 1-based index -> item."""


class Entries(dict):
    """A map being read back: 1-based index -> {"key": ..., "value": ...}."""


class Misfit(Exception):
    """A form name the input shape does not serialize."""


def check_query(model, request, pairs, report):
    serializer = create_serializer(model.protocol, include_validation=False)
    counts = {}
    for key, _ in pairs:
        counts[key] = counts.get(key, 0) + 1
    for key, n in counts.items():
        if n > 1:
            report.add(key, "duplicate parameter", f"{key} is given {n} times")
    form = dict(pairs)

    version = form.get("Version")
    if version != model.api_version:
        report.add("Version", "api version", f"Version is {version!r}; the model's apiVersion is {model.api_version!r}")
    if "Action" not in form:
        report.add("Action", "operation", "no Action parameter")
        return
    op = operation_model(model, form["Action"], report)
    if op is None:
        return
    check_http(op, request, report)
    shape = op.input_shape
    tree = {}
    misfits = False
    for key, raw in pairs:
        if key in ("Action", "Version"):
            continue
        if shape is None:
            report.add(key, "query name", f"{op.name} takes no parameters")
            continue
        reader = Reader(serializer, model.protocol, key, raw, report)
        try:
            tree = reader.put(tree, shape, key.split("."), "")
        except Misfit as why:
            misfits = True
            report.add(key, "query name", f"{op.name} does not serialize {key!r}: {why}")
    if shape is None:
        return
    # With a misfit name the indexes of its list are not all there: no gap check.
    params = finish(tree, "", report, check_indexes=not misfits)
    validate(params, shape, report)
    extra_checks(params, shape, "", report)
    if report.violations:
        return  # botocore would not serialize invalid parameters faithfully
    # The names botocore itself would send for these parameters.
    again = serializer.serialize_to_request(params, op)["body"]
    sent = set(form)
    for key in sorted(sent - set(again)):
        report.add(key, "query name", f"botocore does not serialize {key!r} for these parameters")
    for key in sorted(set(again) - sent):
        report.add(key, "query name", f"botocore would also send {key!r} for these parameters")


def serialized_name(serializer, shape, default):
    return serializer._get_serialized_name(shape, default)


def member_names(serializer, shape):
    return {serialized_name(serializer, m, name): name for name, m in shape.members.items()}


class Reader:
    """Reads one form value, named `key`, back into the parameters."""

    def __init__(self, serializer, protocol, key, raw, report):
        self.serializer = serializer
        self.protocol = protocol
        self.key = key
        self.raw = raw
        self.report = report

    def put(self, tree, shape, segments, path):
        """Puts the value, named by `segments` below `shape` (at parameter
        `path`), into `tree`, the parameters for `shape` so far; returns the
        new tree."""
        serializer = self.serializer
        kind = shape.type_name
        if kind == "structure":
            names = member_names(serializer, shape)
            if not segments:
                raise Misfit(f"a structure ({shape.name}) is not a value; its members are {listing(serializer, shape)}")
            name = names.get(segments[0])
            if name is None:
                close = difflib.get_close_matches(segments[0], list(names), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise Misfit(
                    f"{segments[0]!r} is not a member of {shape.name}{hint}; it serializes {listing(serializer, shape)}"
                )
            tree = tree if isinstance(tree, dict) else {}
            tree[name] = self.put(tree.get(name), shape.members[name], segments[1:], join(path, name))
            return tree
        if kind == "list":
            if self.protocol == "query" and not serializer._is_shape_flattened(shape):
                item = shape.member.serialization.get("name", "member")
                if not segments and self.raw == "":
                    return Index()  # the query protocol's empty list: `Name=`
                if not segments or segments[0] != item:
                    raise Misfit(f"a list ({shape.name}) serializes as .{item}.N")
                segments = segments[1:]
            if not segments:
                raise Misfit(f"a list ({shape.name}) serializes as .1, .2, ... .N, never bare")
            index = list_index(segments[0], shape)
            tree = tree if isinstance(tree, Index) else Index()
            tree[index] = self.put(tree.get(index), shape.member, segments[1:], f"{path}[{index - 1}]")
            return tree
        if kind == "map":
            if not serializer._is_shape_flattened(shape):
                if not segments or segments[0] != "entry":
                    raise Misfit(f"a map ({shape.name}) serializes as .entry.N.key / .entry.N.value")
                segments = segments[1:]
            if len(segments) < 2:
                raise Misfit(f"a map ({shape.name}) serializes as .N.key / .N.value")
            index = list_index(segments[0], shape)
            key_name = serialized_name(serializer, shape.key, "key")
            value_name = serialized_name(serializer, shape.value, "value")
            tree = tree if isinstance(tree, Entries) else Entries()
            entry = tree.setdefault(index, {})
            if segments[1] == key_name and len(segments) == 2:
                entry["key"] = self.scalar(shape.key, f"{path} (key {index})")
            elif segments[1] == value_name:
                entry["value"] = self.put(entry.get("value"), shape.value, segments[2:], f"{path}.{index}")
            else:
                raise Misfit(f"a map entry has only .{key_name} and .{value_name}")
            return tree
        if segments:
            raise Misfit(f"{shape.name} is a {kind}, with no sub-parameter {'.'.join(segments)!r}")
        return self.scalar(shape, path)

    def scalar(self, shape, path):
        """The form value as a parameter of its type. One that does not read
        as its type is reported here and stays a string."""
        kind = shape.type_name
        raw = self.raw
        wanted = None
        if kind in ("integer", "long"):
            if re.fullmatch(r"-?[0-9]+", raw):
                return int(raw)
            wanted = "a decimal integer"
        elif kind == "boolean":
            if raw in ("true", "false"):
                return raw == "true"
            wanted = "a boolean (true or false)"
        elif kind in ("double", "float"):
            try:
                return float(raw)
            except ValueError:
                wanted = "a number"
        elif kind == "blob":
            try:
                return base64.b64decode(raw, validate=True)
            except ValueError:
                wanted = "base64"
        if wanted:
            self.report.add(path, "type", f"{self.key}={raw!r} does not read as {wanted}, as {shape.name} ({kind}) needs")
        return raw


def serialized_name(serializer, shape, default):
    return serializer._get_serialized_name(shape, default)


def member_names(serializer, shape):
    return {serialized_name(serializer, m, name): name for name, m in shape.members.items()}


def list_index(segment, shape):
    if not re.fullmatch(r"[1-9][0-9]*", segment):
        raise Misfit(f"{segment!r} is not a list index (1, 2, ...) of {shape.name}")
    return int(segment)


def listing(serializer, shape):
    parts = []
    for name, member in shape.members.items():
        wire = serialized_name(serializer, member, name)
        parts.append(wire + (".N" if member.type_name == "list" else ""))
    return ", ".join(parts) if parts else "nothing"


def finish(tree, path, report, check_indexes=True):
    """Lists and maps from their 1-based indexes; the indexes must run 1..N."""
    if isinstance(tree, Index):
        indexes = sorted(tree)
        if check_indexes and indexes != list(range(1, len(indexes) + 1)):
            report.add(path or "(list)", "list index", f"list items are numbered {indexes}; SDKs send 1..N")
        return [finish(tree[i], f"{path}[{n}]", report, check_indexes) for n, i in enumerate(indexes)]
    if isinstance(tree, Entries):
        out = {}
        for i in sorted(tree):
            entry = tree[i]
            if "key" not in entry or "value" not in entry:
                report.add(f"{path}.entry.{i}", "map entry", "a map entry needs both its key and its value")
                continue
            out[entry["key"]] = finish(entry["value"], f"{path}.{entry['key']}", report, check_indexes)
        return out
    if isinstance(tree, dict):
        return {k: finish(v, join(path, k), report, check_indexes) for k, v in tree.items()}
    return tree


# --- shared ---------------------------------------------------------------


def operation_model(model, operation, report):
    if operation in model.operation_names:
        return model.operation_model(operation)
    close = difflib.get_close_matches(operation, model.operation_names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    service = model.metadata.get("serviceId")
    report.add("(operation)", "operation", f"{service} {model.api_version} has no operation {operation!r}{hint}")
    return None


def check_http(op, request, report):
    method = op.http.get("method", "POST")
    uri = op.http.get("requestUri", "/")
    if request.get("method") and request["method"] != method:
        report.add("(method)", "http", f"{request['method']}; the model wants {method}")
    if request.get("path") and request["path"].split("?")[0] != uri:
        report.add("(path)", "http", f"{request['path']!r}; the model wants {uri!r}")


def validate(params, shape, report):
    """botocore's own validator; each of its errors becomes one violation."""
    errors = ParamValidator().validate(params, shape)
    for error in errors._errors:
        reason, name, details = error
        parameter = name.lstrip(".")
        if reason == "unknown field":
            parameter = join(parameter, details["unknown_param"])
        elif reason == "missing required field":
            parameter = join(parameter, details["required_name"])
        rule = BOTOCORE_RULES.get(reason, reason)
        report.add(parameter or "(input)", rule, f"botocore ParamValidator: {errors._format_error(error)}")


_patterns = {}


def compiled(pattern):
    if pattern not in _patterns:
        try:
            _patterns[pattern] = re.compile(pattern)
        except re.error:
            _patterns[pattern] = None  # e.g. \p{L}: a Java/ECMAScript class Python lacks
    return _patterns[pattern]


def extra_checks(value, shape, path, report):
    """The constraints of the model that ParamValidator does not check.
    Values of the wrong type are left alone: ParamValidator reported them."""
    kind = shape.type_name
    meta = shape.metadata
    where = path or "(input)"
    if kind == "structure" and isinstance(value, dict) and not shape.is_document_type:
        for name, item in value.items():
            if name in shape.members:
                extra_checks(item, shape.members[name], join(path, name), report)
    elif kind == "list" and isinstance(value, (list, tuple)):
        if "max" in meta and len(value) > meta["max"]:
            report.add(where, "max items", f"{len(value)} items; the model allows at most {meta['max']}")
        for i, item in enumerate(value):
            extra_checks(item, shape.member, f"{path}[{i}]", report)
    elif kind == "map" and isinstance(value, dict):
        if "max" in meta and len(value) > meta["max"]:
            report.add(where, "max items", f"{len(value)} entries; the model allows at most {meta['max']}")
        for key, item in value.items():
            extra_checks(key, shape.key, f"{path} (key {key})", report)
            extra_checks(item, shape.value, f"{path}.{key}", report)
    elif kind == "string" and isinstance(value, str):
        enum = shape.enum
        if enum and value not in enum:
            shown = ", ".join(enum) if len(enum) <= 12 else ", ".join(enum[:12]) + f", ... ({len(enum)} in all)"
            report.add(where, "enum", f"{value!r} is not one of {shape.name}: {shown}")
        if "max" in meta and len(value) > meta["max"]:
            report.add(where, "max length", f"{len(value)} characters; the model allows at most {meta['max']}")
        pattern = meta.get("pattern")
        if pattern and compiled(pattern) is not None and not compiled(pattern).fullmatch(value):
            report.add(where, "pattern", f"{value!r} does not match {shape.name}'s pattern {pattern}")
    elif kind in ("integer", "long", "double", "float"):
        if isinstance(value, bool):
            report.add(where, "type", f"JSON {str(value).lower()} given for {shape.name} ({kind}): botocore's validator lets a bool pass as an int")
        elif isinstance(value, (int, float)) and "max" in meta and value > meta["max"]:
            report.add(where, "max", f"{value}; the model allows at most {meta['max']}")


def join(path, name):
    return f"{path}.{name}" if path else name


def main():
    models = Models()
    ready = {
        "ready": True,
        "botocore": botocore.__version__,
        "models": {n: m.api_version for n, m in models.cache.items() if m is not None},
    }
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            answer = check(models, request)
        except Exception as error:  # a bug here must fail the test, not hang it
            answer = {
                "service": "?",
                "operation": "",
                "violations": [{"parameter": "(checker)", "rule": "checker error", "message": repr(error)}],
            }
        answer["id"] = request.get("id")
        sys.stdout.write(json.dumps(answer, default=str) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
