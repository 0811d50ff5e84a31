"""Runs python-scim's scim2-tester against a live SCIM server and tells what failed.

    SCIM_TOKEN=... suite.py BASE_URL LABEL ALLOW_LIST TRANSCRIPT

scripts/scim-compliance.sh starts Tessera and runs this. The suite does the checking; this file
only connects it, counts its results per check, prints each failure with the HTTP exchanges of
its check, and writes every exchange to TRANSCRIPT. Exit status 1 when a check failed that
ALLOW_LIST does not name, or when the server offered no User or Group resource type to check.
"""

import fnmatch
import json
import os
import sys
from collections import defaultdict

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}
# Tessera provisions both; a server that publishes neither must not pass by checking nothing.
RESOURCE_TYPES = {"User", "Group"}
SHOWN_EXCHANGES = 4
SHOWN_BODY = 1500


def current_check():
    """(resource type or None, check name) of the scim2-tester check making a request, and
    whether the request is the check's clean-up (deleting what it created) rather than the check.

    Every check runs inside the `wrapped` function of scim2-tester's @checker decorator, which
    holds the check as `func` and its arguments (the resource model among them) as `args`, and
    calls the resource manager's `cleanup` when the check ends.
    """
    frame, cleanup = sys._getframe(), False
    while frame:
        if frame.f_globals["__name__"] == "scim2_tester.utils":
            cleanup = cleanup or frame.f_code.co_name == "cleanup"
            if frame.f_code.co_name == "wrapped":
                model = next((a for a in frame.f_locals["args"] if isinstance(a, type)), None)
                return (model.__name__ if model else None, frame.f_locals["func"].__name__), cleanup
        frame = frame.f_back
    return (None, "(discovery)"), cleanup


def key(result):
    """The allow-list name of a result: [ResourceType/]check[/attribute]."""
    parts = [result.resource_type, result.title]
    if isinstance(result.data, dict) and result.data.get("urn"):
        parts.append(result.data["urn"])
    return "/".join(p for p in parts if p)


def load_allow_list(path):
    """{pattern: why} from lines `PATTERN WHY...`; a pattern without a reason is refused."""
    allowed = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            pattern, _, why = line.partition(" ")
            if not why.strip():
                sys.exit(f"{path}:{n}: `{pattern}` needs a reason after it")
            allowed[pattern] = why.strip()
    return allowed


def show(exchange, limit=SHOWN_BODY):
    clip = lambda text: text if len(text) <= limit else f"{text[:limit]} [... {len(text)} chars]"  # noqa: E731
    lines = [f"    > {exchange['method']} {exchange['url']}"]
    if exchange["request"]:
        lines.append(f"    > {clip(exchange['request'])}")
    lines.append(f"    < {exchange['status']} {exchange['content_type']}")
    if exchange["response"]:
        lines.append(f"    < {clip(exchange['response'])}")
    return "\n".join(lines)


def exchanges_of(result, exchanges):
    """The exchanges that explain a failed result: for an attribute, its PATCH and the read after;
    else the last ones of its check before its clean-up."""
    mine = [x for x in exchanges if not x["cleanup"]]
    mine = [x for x in mine if x["check"] == (result.resource_type, result.title)] or [
        x for x in mine if x["check"][1] == result.title
    ]
    urn = result.data.get("urn") if isinstance(result.data, dict) else None
    if urn:
        for i, x in enumerate(mine):
            if x["method"] == "PATCH" and json.dumps(urn) in x["request"]:
                return mine[i : i + 2], 0
    return mine[-SHOWN_EXCHANGES:], max(0, len(mine) - SHOWN_EXCHANGES)


def main():
    base_url, label, allow_list, transcript = sys.argv[1:5]
    allowed = load_allow_list(allow_list)
    exchanges = []

    def record(response):
        response.read()
        request = response.request
        check, cleanup = current_check()
        exchanges.append({
            "check": check,
            "cleanup": cleanup,
            "method": request.method,
            "url": str(request.url),
            "request": request.content.decode("utf-8", "replace"),
            "status": response.status_code,
            "content_type": response.headers.get("content-type", ""),
            "response": response.text,
        })

    http = httpx2.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {os.environ['SCIM_TOKEN']}"},
        event_hooks={"response": [record]},
    )
    results = check_server(SyncSCIMClient(http))

    with open(transcript, "w", encoding="utf-8") as f:
        for x in exchanges:
            name = "/".join(p for p in x["check"] if p) + (" (clean-up)" if x["cleanup"] else "")
            f.write(f"### {name}\n{show(x, limit=10**6)}\n\n")

    per_check = defaultdict(lambda: {"passed": 0, "failed": 0, "allowed": 0, "skipped": 0})
    failures, allowed_failures, used = [], [], set()
    for r in results:
        counts = per_check[(r.resource_type or "", r.title)]
        if r.status in PASSED:
            counts["passed"] += 1
        elif r.status == Status.SKIPPED:
            counts["skipped"] += 1
        else:
            pattern = next((p for p in allowed if fnmatch.fnmatchcase(key(r), p)), None)
            counts["allowed" if pattern else "failed"] += 1
            used.add(pattern)
            (allowed_failures if pattern else failures).append(r)

    print(f"\nSCIM compliance on {label} ({base_url}):")
    print(f"  {'check':<46} passed failed allowed skipped")
    for (rtype, title), c in per_check.items():
        name = f"{rtype}/{title}" if rtype else title
        print(f"  {name:<46} {c['passed']:>6} {c['failed']:>6} {c['allowed']:>7} {c['skipped']:>7}")

    for r in failures:
        print(f"\nFAILED {key(r)} [{r.status.name}]\n  {r.reason or ''}")
        shown, earlier = exchanges_of(r, exchanges)
        if earlier:
            print(f"    ({earlier} earlier exchanges of this check in {transcript})")
        for x in shown:
            print(show(x))
    for r in allowed_failures:
        print(f"allowed: {key(r)} [{r.status.name}] {r.reason}")
    for pattern in sorted(set(allowed) - used):
        print(f"warning: allow-list entry `{pattern}` matched no failure: remove it from {allow_list}")

    missing = sorted(RESOURCE_TYPES - {r.resource_type for r in results})
    for name in missing:
        print(f"\nFAILED {name}: never checked (discovery failed, or /ResourceTypes lacks it)")

    total = lambda field: sum(c[field] for c in per_check.values())  # noqa: E731
    failed = total("failed") + len(missing)
    print(f"{len(allowed_failures)} allow-listed failures ({allow_list})")
    print(f"{label}: {total('passed')} passed, {failed} failed, {total('skipped')} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
