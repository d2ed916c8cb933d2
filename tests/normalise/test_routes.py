from __future__ import annotations

import random
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apishield.normalise import route_tree, routes
from apishield.normalise.route_tree import MAX_NODES, Node, _profile, _takes
from apishield.normalise.routes import MAX_HOSTS, RouteLearner, path_params
from apishield.normalise.segments import classify, shaped

HOST = "api.example.com"
HEX = "0123456789abcdef"
RNG = random.Random(5)
COUNTRIES = ["US", "GB", "DE", "FR", "IT", "ES", "NL", "BE", "CH", "AT", "SE", "NO"]


def sid(prefix: str) -> str:
    return prefix + "".join(RNG.choice(HEX) for _ in range(32))


def learn(learner: RouteLearner, paths: list[str]) -> list[str]:
    return [learner.observe(HOST, path) for path in paths]


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/customers/40213377/profile", "/customers/{id}/profile"),
        ("/orders/6e8bc430-9c3a-11d9-9669-0800200c9a66", "/orders/{uuid}"),
        ("/blobs/da39a3ee5e6b4b0d3255bfef95601890afd80709", "/blobs/{hex}"),
        ("/v1/customers/cus_9s8d7f6g5h4j3k2l", "/v1/customers/{id}"),
        ("/events/01ARZ3NDEKTSV4RRFFQ69G5FAV", "/events/{id}"),
        ("/users/alice@example.com/inbox", "/users/{email}/inbox"),
        ("/lookup/+14155550123", "/lookup/{phone}"),
        ("/lookup/%2B14155550123", "/lookup/{phone}"),
        ("/hosts/192.168.10.200", "/hosts/{ip}"),
        ("/sessions/dGhpcyBpcyBhIHRva2VuIQ2x", "/sessions/{token}"),
    ],
)
def test_strong_values_are_parameters_at_once(path: str, template: str) -> None:
    assert RouteLearner().observe(HOST, path) == template


@pytest.mark.parametrize(
    ("first", "second", "template"),
    [
        ("/items/7", "/items/8", "/items/{id}"),
        ("/reports/2024-01-15", "/reports/2024-02-01", "/reports/{date}"),
        ("/lookup/415-555-0123", "/lookup/212-555-0199", "/lookup/{phone}"),
        ("/commits/a1b2c3d4", "/commits/e5f60718", "/commits/{hex}"),
    ],
)
def test_weak_values_wait_for_a_second_value(first: str, second: str, template: str) -> None:
    learner = RouteLearner()
    assert learner.observe(HOST, first) == first
    assert learner.observe(HOST, second) == template
    assert learner.template(HOST, first) == template


def test_repeated_kinds_are_numbered() -> None:
    path = f"/Accounts/{sid('AC')}/Calls/{sid('CA')}/Recordings/{sid('RE')}.json"
    template = "/Accounts/{id}/Calls/{id2}/Recordings/{id3}.json"
    assert RouteLearner().observe(HOST, path) == template


def test_extension_stays_literal() -> None:
    learner = RouteLearner()
    assert learner.observe(HOST, f"/Calls/{sid('CA')}.json") == "/Calls/{id}.json"
    assert learner.observe(HOST, f"/Calls/{sid('CA')}.xml") == "/Calls/{id}.xml"
    assert learner.observe(HOST, "/Calls.json") == "/Calls.json"


def test_version_date_seen_alone_stays_literal() -> None:
    learner = RouteLearner()
    for _ in range(200):
        template = learner.observe(HOST, f"/2010-04-01/Accounts/{sid('AC')}/Calls.json")
    assert template == "/2010-04-01/Accounts/{id}/Calls.json"
    # A second date later does not turn the established version into a parameter.
    learner.observe(HOST, "/2012-01-01/Accounts.json")
    assert learner.template(HOST, "/2010-04-01/Accounts.json") == "/2010-04-01/Accounts.json"


def test_literal_sibling_of_a_parameter_stays() -> None:
    learner = RouteLearner()
    for _ in range(50):
        learn(learner, [f"/Numbers/{sid('PN')}.json", "/Numbers/Local.json", "/users/me"])
        learner.observe(HOST, f"/users/{RNG.randint(10**6, 10**9)}")
    assert learner.template(HOST, "/Numbers/Local.json") == "/Numbers/Local.json"
    assert learner.template(HOST, f"/Numbers/{sid('PN')}.json") == "/Numbers/{id}.json"
    assert learner.template(HOST, "/users/me") == "/users/me"
    assert learner.template(HOST, "/users/40213377") == "/users/{id}"


def test_frequent_literal_survives_a_crowd_of_words() -> None:
    learner = RouteLearner()
    for i in range(100):
        learner.observe(HOST, "/users/me/repos")
        name = "".join(RNG.choice(string.ascii_lowercase) for _ in range(7))
        learner.observe(HOST, f"/users/{name}/repos")
        assert i < 60 or learner.template(HOST, f"/users/{name}/repos") == "/users/{param}/repos"
    assert learner.template(HOST, "/users/me/repos") == "/users/me/repos"
    assert learner.template(HOST, "/users/somebody-new/repos") == "/users/{param}/repos"


def test_codes_become_a_parameter_after_min_distinct_values() -> None:
    learner = RouteLearner(min_distinct=8)
    for code in COUNTRIES[:7]:
        for _ in range(20):
            learner.observe(HOST, f"/Available/{code}/Local.json")
    assert learner.template(HOST, "/Available/US/Local.json") == "/Available/US/Local.json"
    learner.observe(HOST, "/Available/BE.json")
    assert learner.template(HOST, "/Available/US/Local.json") == "/Available/{param}/Local.json"
    assert learner.template(HOST, "/Available/JP.json") == "/Available/{param}.json"


def test_a_fixed_set_of_frequent_words_stays_literal() -> None:
    learner = RouteLearner(min_distinct=8)
    words = [
        "AllTime",
        "Daily",
        "LastMonth",
        "Monthly",
        "ThisMonth",
        "Today",
        "Yearly",
        "Yesterday",
    ]
    for _ in range(30):
        for word in words:
            learner.observe(HOST, f"/Usage/Records/{word}.json")
    assert learner.template(HOST, "/Usage/Records/Daily.json") == "/Usage/Records/Daily.json"


def test_rare_words_with_the_same_structure_beneath_fold() -> None:
    learner = RouteLearner(min_distinct=8)
    for name in ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]:
        learner.observe(HOST, f"/repos/{name}/issues")
    assert learner.template(HOST, "/repos/alice/issues") == "/repos/{param}/issues"


def test_spec_paths_win_and_other_paths_are_learned() -> None:
    spec = [
        "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json",
        "/2010-04-01/Accounts/{AccountSid}/Calls/Feedback.json",
        "/users/{user_id}",
        "/users/@me",
    ]
    learner = RouteLearner(spec_paths=spec)
    account = sid("AC")
    assert (
        learner.observe(HOST, f"/2010-04-01/Accounts/{account}/Calls/{sid('CA')}.json") == spec[0]
    )
    assert learner.observe(HOST, f"/2010-04-01/Accounts/{account}/Calls/Feedback.json") == spec[1]
    assert learner.observe(HOST, "/users/alice") == "/users/{user_id}"
    assert learner.observe(HOST, "/users/@me/") == "/users/@me"
    assert learner.observe(HOST, "/shadow/40213377") == "/shadow/{id}"
    assert learner.node_count == 3


def test_invalid_min_distinct_names_the_fix() -> None:
    with pytest.raises(ValueError, match="min_distinct=1: use 2 or more"):
        RouteLearner(min_distinct=1)


def test_random_segment_flood_stays_under_the_node_cap() -> None:
    learner = RouteLearner()
    rng = random.Random(1)
    for i in range(30_000):
        depth = rng.randint(1, 6)
        words = (
            "".join(rng.choice(string.ascii_lowercase) for _ in range(6)) for _ in range(depth)
        )
        learner.observe(HOST, "/" + "/".join(words))
        if i % 5000 == 0:
            assert learner.node_count < MAX_NODES
    assert learner.node_count < MAX_NODES
    assert learner.observe(HOST, "/zzzzzz/qqqqqq") in {"/{param}/{param2}", "/{param}/qqqqqq"}


def test_repeated_random_paths_stay_under_the_node_cap() -> None:
    learner = RouteLearner()
    rng = random.Random(2)
    for _ in range(10_000):
        words = ("".join(rng.choice(string.ascii_letters) for _ in range(9)) for _ in range(4))
        path = "/" + "/".join(words)
        for _ in range(3):
            learner.observe(HOST, path)
    assert learner.node_count < MAX_NODES


def test_node_budget_is_a_hard_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(route_tree, "MAX_NODES", 40)
    learner = RouteLearner()
    for i in range(200):
        learner.observe(HOST, f"/api/resource{i}/sub{i}/leaf{i}")
    assert learner.node_count <= 40
    assert learner.observe(HOST, "/fresh/words/here") == "/{param}/{param2}/{param3}"


def test_host_flood_shares_one_tree() -> None:
    learner = RouteLearner()
    for i in range(MAX_HOSTS * 3):
        learner.observe(f"tenant{i}.example.com", "/health")
    assert learner.node_count <= 2 * (MAX_HOSTS + 1)


def test_deep_paths_are_cut() -> None:
    learner = RouteLearner()
    path = "/a" * 200
    template = learner.observe(HOST, path)
    # 32 learned segments, 32 more each by its kind, and the rest as one
    assert template.count("{param") == 32 and template.endswith("/{rest}")
    assert learner.node_count <= 33


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/a/b/", "/a/b"),
        ("/a//b", "/a/b"),
        ("//a///b//", "/a/b"),
        ("", "/"),
        ("/", "/"),
        ("/a/b?x=1&y=/c", "/a/b"),
        ("/caf%C3%A9/menu", "/caf%C3%A9/menu"),
        ("/a/%7Bid%7D", "/a/%7Bid%7D"),
        ("/a/{id}", "/a/%7Bid%7D"),
        ("https://api.example.com/a/b", "/a/b"),
    ],
)
def test_paths_are_normalised(path: str, template: str) -> None:
    assert RouteLearner().observe(HOST, path) == template


def test_percent_encoded_spelling_of_a_literal_is_the_same_literal() -> None:
    learner = RouteLearner()
    assert learner.observe(HOST, "/users/me") == "/users/me"
    assert learner.observe(HOST, "/users/m%65") == "/users/me"
    assert learner.node_count == 3


def test_template_does_not_learn() -> None:
    learner = RouteLearner()
    assert learner.template(HOST, "/customers/40213377/profile") == "/customers/{id}/profile"
    assert learner.template(HOST, "/items/7") == "/items/7"
    assert learner.node_count == 0


@pytest.mark.parametrize(
    ("template", "path", "params"),
    [
        ("/customers/{id}/profile", "/customers/42/profile", {"id": "42"}),
        ("/a/{id}/b/{id2}.json", "/a/1/b/CA12.json", {"id": "1", "id2": "CA12"}),
        ("/u/{email}", "/u/alice%40example.com", {"email": "alice@example.com"}),
        ("/files/{name}.{ext}", "/files/a.b.tar", {"name": "a", "ext": "b.tar"}),
        ("/customers/{id}/profile", "/customers/42/orders", {}),
        ("/customers/{id}", "/customers/42/profile", {}),
        ("/customers/{id}", "/customers/42/", {"id": "42"}),
        ("/", "/", {}),
    ],
)
def test_path_params(template: str, path: str, params: dict[str, str]) -> None:
    assert path_params(template, path) == params


def test_two_parameters_in_one_segment_do_not_backtrack_forever() -> None:
    hostile = "/files/" + "a." * 20_000 + "jsox"
    assert path_params("/files/{name}.{part}.json", hostile) == {}
    learner = RouteLearner(spec_paths=["/files/{name}.{part}.json"])
    assert learner.observe(HOST, hostile) == "/files/{param}.jsox"


def test_path_params_round_trip_a_learned_template() -> None:
    learner = RouteLearner()
    path = f"/Accounts/{sid('AC')}/Calls/{sid('CA')}.json"
    params = path_params(learner.observe(HOST, path), path)
    assert list(params) == ["id", "id2"]
    assert path.endswith(params["id2"] + ".json")


@given(st.text(max_size=200), st.text(max_size=20))
def test_observe_never_raises(path: str, host: str) -> None:
    learner = RouteLearner()
    for candidate in (path, "/" + path, path + "/x/" + path):
        template = learner.observe(host, candidate)
        assert isinstance(template, str)
        assert template.startswith("/")
        assert learner.template(host, candidate) == template
        assert isinstance(path_params(template, candidate), dict)


def test_look_alike_endpoints_leading_to_different_places_stay_literal() -> None:
    learner = RouteLearner(min_distinct=8)
    products = {"SMS": "Messages", "MMS": "Media", "SIP": "Domains", "FAX": "Faxes"}
    products |= {"IVR": "Flows", "TTS": "Voices", "ASR": "Models", "OTP": "Codes"}
    for _ in range(3):
        for product, below in products.items():
            learner.observe(HOST, f"/api/{product}/{below}")
    assert learner.template(HOST, "/api/SMS/Messages") == "/api/SMS/Messages"


SEGMENTS = st.one_of(
    st.sampled_from(["users", "me", "Local.json", "US", "GB", "2010-04-01", "{x}", "%41", "a.b"]),
    st.integers(0, 10**12).map(str),
    st.uuids().map(str),
    st.text(string.ascii_letters + string.digits + "-_.%@+", min_size=1, max_size=24),
    st.text(max_size=8),
)


@given(st.lists(st.lists(SEGMENTS, max_size=6).map("/".join), min_size=1, max_size=60))
def test_templates_fit_their_paths(paths: list[str]) -> None:
    learner = RouteLearner(min_distinct=2)
    for path in paths:
        learner.observe(HOST, path)
    for path in paths:
        template = learner.template(HOST, path)
        names = set(re.findall(r"\{([^{}]*)\}", template))
        params = path_params(template, path)
        assert names <= set(params), (template, path)


@given(st.lists(st.lists(SEGMENTS, max_size=6).map("/".join), min_size=1, max_size=60))
def test_resolve_reads_the_params_that_matching_the_template_reads(paths: list[str]) -> None:
    """`resolve` reads parameters off its walk; matching the template must find the same."""
    learner = RouteLearner(min_distinct=2)
    for path in paths * 2:
        template, params = learner.resolve(HOST, path)
        assert params == path_params(template, path), (template, path)


def test_resolve_hands_out_a_fresh_params_dict_each_time() -> None:
    learner = RouteLearner()
    first = learner.resolve(HOST, "/customers/40213377")[1]
    first["id"] = "changed"
    assert learner.resolve(HOST, "/customers/40213377") == ("/customers/{id}", {"id": "40213377"})
    learner.resolve(HOST, "/health")[1]["x"] = "y"
    assert learner.resolve(HOST, "/health") == ("/health", {})


def test_remembered_paths_learn_as_much_as_walked_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recent-path cache is only a shortcut: with it forgetting after two entries, the same
    traffic gives the same templates and the same hit counts as with a large one."""
    paths = [f"/v1/{word}" for word in ("plans", "health", "status")] * 5
    paths += [f"/v1/plans/{RNG.randint(10**6, 10**9)}" for _ in range(10)] + ["/v1/plans"] * 3
    roomy = RouteLearner(min_distinct=2)
    roomy_templates = learn(roomy, paths)
    monkeypatch.setattr(routes, "CACHE_SIZE", 2)
    forgetful = RouteLearner(min_distinct=2)
    assert learn(forgetful, paths) == roomy_templates
    for learner in (roomy, forgetful):
        assert learner.template(HOST, "/v1/plans/7") == "/v1/plans/{id}"
    hits = [
        [(node.label, node.hits) for node in tree.root.literals["v1"].literals.values()]
        for tree in (roomy._trees[HOST], forgetful._trees[HOST])
    ]
    assert hits[0] == hits[1] == [("plans", 18), ("health", 5), ("status", 5)]


@given(st.text(max_size=20) | st.from_regex(r"[0-9]{1,20}", fullmatch=True), st.booleans())
def test_a_parameter_takes_numbers_as_classify_would_have_it(text: str, learn: bool) -> None:
    """`_takes` answers short numbers without `classify`; the answer and the lengths it
    profiles must be the ones the classification gives."""
    fast, slow = Node("", kind="id"), Node("", kind="id")
    kind = classify(text)
    if kind is not None and learn and kind.strong and len(text) >= 16:
        _profile(slow, text)
    assert _takes(fast, text, learn) == (kind is not None)
    assert fast.lengths == slow.lengths


@pytest.mark.parametrize(
    "spelling",
    [
        "/customers/40213377/profile",
        "//customers/40213377/profile/",
        "/./customers/40213377/profile",
        "/customers/x/../40213377/profile",
        "/customers/%2e%2E/customers/40213377/./profile",
        "/customers/40213377;jsessionid=AB12/profile",
        "/customers/40213377/profile;v=2",
    ],
)
def test_every_spelling_a_server_resolves_alike_gets_one_route(spelling: str) -> None:
    # Servers resolve dot segments and drop path parameters before routing, so the route
    # (and the limits and rules kept per route) must not depend on the spelling.
    assert routes.split_path(spelling) == ["customers", "40213377", "profile"]
    assert RouteLearner().observe(HOST, spelling) == "/customers/{id}/profile"


def test_dot_dot_never_climbs_above_the_root() -> None:
    assert routes.split_path("/../../etc/passwd") == ["etc", "passwd"]
    assert routes.split_path("/a/../..") == []


@pytest.mark.parametrize(
    ("route", "kept"),
    [
        ("/v1/customers/1000/profile", "/v1/customers/{id}/profile"),
        ("/v1/tax/100-45-6789/status", "/v1/tax/{phone}/status"),
        ("/users/ada%40example.org/inbox", "/users/{email}/inbox"),
        ("/v1/customers/{id}/profile", "/v1/customers/{id}/profile"),
        ("/v2/plans", "/v2/plans"),
        ("/v2/search/John%20Smith", "/v2/search/{param}"),
        ("/v2/users/jsmith1985/profile", "/v2/users/jsmith1985/profile"),  # reads like oauth2
        ("/v2/authors/john-smith", "/v2/authors/john-smith"),  # reads like two-factor
        ("(unrouted)", "(unrouted)"),
    ],
)
def test_a_route_is_kept_with_its_values_shown_by_kind(route: str, kept: str) -> None:
    assert shaped(route) == kept


def test_a_path_of_thousands_of_segments_gets_a_bounded_template() -> None:
    template = RouteLearner().observe(HOST, "/a" * 100_000)
    assert template.endswith("/{rest}")
    assert template.count("/") <= 2 * route_tree.MAX_DEPTH + 1


def test_a_server_that_ignores_case_gets_one_route_for_every_case() -> None:
    learner = RouteLearner(fold_case=True)
    assert learner.observe(HOST, "/limited") == "/limited"
    assert learner.observe(HOST, "/LIMITED") == "/limited"
    assert learner.observe(HOST, "/LiMiTeD/") == "/limited"
    assert learner.observe(HOST, "/customers/40213377/profile") == "/customers/{id}/profile"
    assert learner.resolve(HOST, "/CUSTOMERS/40213378/Profile") == (
        "/customers/{id}/profile",
        {"id": "40213378"},
    )
    assert learner.node_count == 5  # root, limited, customers, {id}, profile


def test_folded_routes_keep_the_case_of_values_and_of_the_spec() -> None:
    learner = RouteLearner(fold_case=True, spec_paths=["/Files/{name}.JSON", "/Users/{id}"])
    assert learner.resolve(HOST, "/users/AbC9") == ("/Users/{id}", {"id": "AbC9"})
    assert learner.resolve(HOST, "/FILES/Report.json") == ("/Files/{name}.JSON", {"name": "Report"})
    token = "tok_" + "Ab1Cd2Ef3Gh4Ij5Kl6"
    assert learner.resolve(HOST, f"/KEYS/{token}") == ("/KEYS/{id}", {"id": token})  # as first seen
    assert learner.resolve(HOST, f"/keys/{token}") == ("/KEYS/{id}", {"id": token})


def test_a_documented_path_matches_in_another_case_when_nothing_matches_as_sent() -> None:
    # Whatever the server does with case, the rules of a documented endpoint hold: one that
    # ignores case serves /LIMITED from /limited, one that minds it answers 404.
    learner = RouteLearner(spec_paths=["/limited", "/users/{id}", "/Users", "/users"])
    assert learner.observe(HOST, "/LIMITED") == "/limited"
    assert learner.resolve(HOST, "/USERS/7") == ("/users/{id}", {"id": "7"})
    assert learner.observe(HOST, "/Users") == "/Users"  # as sent wins
    assert learner.observe(HOST, "/users") == "/users"
    assert RouteLearner().observe(HOST, "/LIMITED") == "/LIMITED"  # learned: cases differ


def test_an_encoded_slash_separates_segments_for_a_server_that_decodes_it() -> None:
    learner = RouteLearner(encoded_slash="separator")
    assert learner.resolve(HOST, "/api%2Fusers/40213377") == ("/api/users/{id}", {"id": "40213377"})
    assert learner.observe(HOST, "/api%2fusers%2F40213378") == "/api/users/{id}"
    literal = RouteLearner(encoded_slash="literal")
    # kept inside its segment, an encoded slash makes a value, never a fixed name
    assert literal.observe(HOST, "/api%2Fusers/40213377") == "/{param}/{id}"


def test_an_encoded_slash_of_an_unknown_server_takes_the_route_it_could_reach() -> None:
    learner = RouteLearner()
    assert learner.observe(HOST, "/files/a%2Fb") == "/files/{param}"  # /files/a/b is no route
    assert learner.observe(HOST, "/limited") == "/limited"
    assert learner.observe(HOST, "/x/..%2Flimited") == "/limited"
    assert learner.observe(HOST, "/limited%2F") == "/limited"
    assert learner.template(HOST, "/%2Flimited") == "/limited"
    documented = RouteLearner(spec_paths=["/projects/{id}", "/users/{id}"])
    assert documented.resolve(HOST, "/projects/group%2Fname") == (
        "/projects/{id}",
        {"id": "group/name"},
    )
    assert documented.observe(HOST, "/a%2F..%2Fusers%2F7") == "/users/{id}"


def test_an_encoded_slash_reading_follows_what_the_tree_learns() -> None:
    learner = RouteLearner()
    assert learner.observe(HOST, "/api%2Freports") == "/{param}"  # no route yet: a value
    assert learner.observe(HOST, "/api/reports") == "/api/reports"
    assert learner.observe(HOST, "/api%2Freports") == "/api/reports"


SCANNER_WORDS = [
    *(".env", ".git", "wp-login", "phpinfo", "server-status", "actuator", "admin", "console"),
    *("backup", "debug", "test", "old", "api-docs", "graphql", "cgi-bin", "shell", "login"),
    *("jenkins", "manager", "phpmyadmin", "pma", "solr", "druid", "nacos", "owa", "vpn"),
    *("remote", "portal", "webadmin", "status", "metrics", "trace", "heapdump", "cpanel"),
    *("setup", "install", "upload", "dev", "staging", "private", "secret", "dump", "config"),
    *("wp-admin", "internal2", "xmlrpc", "swagger", "jmx", "monitor"),
]


def test_a_scanner_sweep_at_the_root_leaves_real_prefixes_alone() -> None:
    """A sweep of one-off paths reaches the literal cap at the root: the sweep folds, while
    `/v1` and `/partner`, far quieter than `/v2` but steady, stay part of the API."""
    learner = RouteLearner()
    for i in range(3000):
        learner.observe(HOST, f"/v2/customers/{40_200_000 + i % 500}")
        if i % 10 == 0:
            learner.observe(HOST, f"/v1/customers/{40_200_000 + i % 500}")
            learner.observe(HOST, f"/partner/orders/{700_000 + i}")
        if i % 100 == 0:
            learner.observe(HOST, "/internal/test/customers")
    assert len(SCANNER_WORDS) >= route_tree.MAX_LITERALS
    for word in SCANNER_WORDS:
        learner.observe(HOST, f"/{word}")
    assert learner.template(HOST, "/v1/customers/40200001") == "/v1/customers/{id}"
    assert learner.template(HOST, "/partner/orders/700001") == "/partner/orders/{id}"
    assert learner.template(HOST, "/internal/test/customers") == "/internal/test/customers"
    assert learner.template(HOST, "/v2/customers/40200001") == "/v2/customers/{id}"
    assert learner.template(HOST, "/phpinfo") == "/{param}"
    assert learner.template(HOST, "/never-seen") == "/{param}"


def swept(learner: RouteLearner) -> None:
    """Steady traffic, then a scanner's sweep that folds the root into a crowd's parameter."""
    for i in range(300):
        learner.observe(HOST, f"/v2/customers/{40_200_000 + i}")
    for word in SCANNER_WORDS:
        learner.observe(HOST, f"/{word}")
    assert learner.template(HOST, "/phpinfo") == "/{param}"


def test_a_prefix_first_seen_after_a_sweep_is_split_out_of_the_root_parameter() -> None:
    """A partner API that starts after the sweep folded the root is learned under its own
    name once it is seen more than rarely with paths beneath; the sweep stays folded."""
    learner = RouteLearner()
    swept(learner)
    paths = [f"/partner/v1/subscribers/4479{i:08d}" for i in range(200)]
    templates = learn(learner, paths)
    assert templates[0] == "/{param}/v1/subscribers/{id}"
    assert templates[-1] == "/partner/v1/subscribers/{id}"
    assert learner.template(HOST, "/partner/v1/subscribers/447900001234") == (
        "/partner/v1/subscribers/{id}"
    )
    assert learner.template(HOST, "/wp-login") == "/{param}"
    assert learner.template(HOST, "/v2/customers/40200001") == "/v2/customers/{id}"


def test_a_leaf_word_is_split_out_of_the_root_parameter_once_established() -> None:
    learner = RouteLearner()
    swept(learner)
    learn(learner, ["/healthz"] * (route_tree.ESTABLISHED - 1))
    assert learner.template(HOST, "/healthz") == "/{param}"
    assert learner.observe(HOST, "/healthz") == "/healthz"
    assert learner.template(HOST, "/readyz") == "/{param}"


@pytest.mark.parametrize("value", ["40200001", "4479001234567", "alice17", "x' OR 1=1"])
def test_a_value_is_never_split_out_of_the_root_parameter(value: str) -> None:
    learner = RouteLearner()
    swept(learner)
    learn(learner, [f"/{value}/orders"] * 100)
    assert learner.template(HOST, f"/{value}/orders") == "/{param}/orders"


def test_words_under_a_parameter_of_values_are_never_split_out() -> None:
    """Only a crowd's parameter splits words out: user names folded for their shared subtree
    stay values, however busy one user is."""
    learner = RouteLearner(min_distinct=8)
    names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"]
    learn(learner, [f"/users/{name}/repos" for name in names])
    assert learner.template(HOST, "/users/alice/repos") == "/users/{param}/repos"
    learn(learner, ["/users/alice/repos"] * 100)
    assert learner.template(HOST, "/users/alice/repos") == "/users/{param}/repos"
    assert learner.template(HOST, "/users/zoe/repos") == "/users/{param}/repos"


def test_a_crowd_parameter_counts_a_bounded_number_of_words() -> None:
    """A sweep of thousands of one-off words costs a bounded count, and a word that comes back
    still splits out."""
    learner = RouteLearner()
    swept(learner)
    learn(learner, [f"/probe-{n}" for n in range(5000)])
    words = learner._trees[HOST].root.param.words  # type: ignore[union-attr]
    assert words is not None
    assert len(words) <= route_tree.MAX_WORDS
    learn(learner, ["/partner/v1/status"] * 3)
    assert learner.template(HOST, "/partner/v1/status") == "/partner/v1/status"


@pytest.mark.parametrize(
    "make",
    [
        lambda i: f"alice{i}",  # user names
        lambda i: f"user{i}x{i % 7}",
        lambda i: "-".join(["how", "to", "cook", f"{string.ascii_lowercase[i % 26]}" * 3, "now"]),
    ],
    ids=["username", "mixed", "slug"],
)
def test_leaf_values_fold_after_min_distinct(make: object) -> None:
    """Leaves that read as values (`alice17`, a slug) fold at `min_distinct`, not at the cap,
    though each is seen a few times; a steady fixed sibling (`latest`) stays."""
    assert callable(make)
    learner = RouteLearner(min_distinct=8)
    for i in range(8):
        for _ in range(2):
            learner.observe(HOST, "/articles/latest")
            learner.observe(HOST, f"/articles/{make(i)}")
    assert learner.template(HOST, f"/articles/{make(0)}") == "/articles/{param}"
    assert learner.template(HOST, f"/articles/{make(20)}") == "/articles/{param}"
    assert learner.template(HOST, "/articles/latest") == "/articles/latest"
    assert learner.template(HOST, "/articles/popular") == "/articles/popular"


def test_user_names_seen_three_times_each_fold_after_min_distinct() -> None:
    learner = RouteLearner(min_distinct=8)
    names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"]
    for i, name in enumerate(names):
        for _ in range(3):
            template = learner.observe(HOST, f"/api/profiles/{name}{i}")
        assert (template == "/api/profiles/{param}") == (i >= 7), (i, template)


def test_short_git_hashes_fold_like_other_short_hex() -> None:
    learner = RouteLearner()
    assert learner.observe(HOST, "/commits/5f3a9c1") == "/commits/5f3a9c1"
    assert learner.observe(HOST, "/commits/a94a8fe") == "/commits/{hex}"


def test_fixed_sibling_words_stay_beside_folded_values() -> None:
    """`/users/me`, `/users/search` and `/orders/export` are one literal each however many
    values arrive beside them, a few values at a time between them."""
    learner = RouteLearner(min_distinct=8)
    for i in range(60):
        learn(learner, ["/users/me", "/users/search", "/orders/export"])
        learner.observe(HOST, f"/users/{RNG.randint(1, 99_999)}")
        learner.observe(HOST, f"/users/{RNG.choice(['alice', 'bob', 'carol'])}{i}")
        learner.observe(HOST, f"/orders/{RNG.getrandbits(128):032x}")
    for path in ("/users/me", "/users/search", "/orders/export"):
        assert learner.template(HOST, path) == path
    assert learner.template(HOST, "/users/dave77") == "/users/{id}"
    assert learner.template(HOST, "/users/settings") == "/users/settings"


ATTACK_VALUES = [
    "1'%20OR%20'1'='1",
    "1%20UNION%20SELECT%20NULL--",
    "-1",
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fwindows%2fwin.ini",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "1%3Bsleep(5)",
]


@pytest.mark.parametrize("value", ATTACK_VALUES)
def test_an_attack_payload_goes_to_the_parameter_beside_it(value: str) -> None:
    learner = RouteLearner()
    learn(learner, ["/v2/customers/40213377", "/v2/customers/40213378/lines"])
    nodes = learner.node_count
    assert learner.observe(HOST, f"/v2/customers/{value}") == "/v2/customers/{id}"
    assert learner.observe(HOST, f"/v2/customers/{value}/lines") == "/v2/customers/{id}/lines"
    assert learner.node_count == nodes


@pytest.mark.parametrize("value", ATTACK_VALUES)
def test_an_attack_payload_is_no_endpoint_of_its_own(value: str) -> None:
    """Where no parameter is learned yet, a payload is rendered as one and not learned."""
    learner = RouteLearner()
    learner.observe(HOST, "/v2/plans")
    nodes = learner.node_count
    template = learner.observe(HOST, f"/v2/accounts/{value}/bills")
    assert template == "/v2/accounts/{param}/bills"
    assert learner.node_count == nodes + 1  # `accounts`
    assert path_params(template, f"/v2/accounts/{value}/bills")
